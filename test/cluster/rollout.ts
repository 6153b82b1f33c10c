// The Rollout of kubernetes/argo-rollouts/ on the local control plane, driven
// by the real Argo Rollouts controller: set up as docs/argo-rollouts.md says,
// released with the docs' patches, watched through the API server, and given
// traffic the Prometheus gates can measure.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT } from '../helpers/process.ts';
import { type Cluster, POD_ADDRESS_ANNOTATION, until } from './control-plane.ts';
import type { KubeObject } from './kube-api.ts';
import { type Kubectl, readyPods, waitForObject } from './kubectl.ts';

const ARGO = '/apis/argoproj.io/v1alpha1';
const ISTIO = '/apis/networking.istio.io/v1';

/** One look at the Rollout and the routing it drives. */
export interface State {
  phase: string;
  step: number | undefined;
  paused: string[];
  aborted: boolean;
  stableHash: string | undefined;
  canaryHash: string | undefined;
  /** [stable, canary] weights of VirtualService ecadraft's route primary, then ecadraft-mesh's. */
  weights: [number, number][];
  /** The rollouts-pod-template-hash label of the DestinationRule's subsets stable and canary. */
  subsets: [string | undefined, string | undefined];
  message: string;
}

export async function state(kubectl: Kubectl, namespace: string): Promise<State> {
  const { api } = kubectl;
  const [rollout, vs, mesh, dr] = await Promise.all([
    api.get(`${ARGO}/namespaces/${namespace}/rollouts/ecadraft`),
    api.get(`${ISTIO}/namespaces/${namespace}/virtualservices/ecadraft`),
    api.get(`${ISTIO}/namespaces/${namespace}/virtualservices/ecadraft-mesh`),
    api.get(`${ISTIO}/namespaces/${namespace}/destinationrules/ecadraft`),
  ]);
  const weightsOf = (v: KubeObject | undefined): [number, number] => {
    const route = v?.spec?.http?.find((r: KubeObject) => r.name === 'primary')?.route ?? [];
    const of = (subset: string): number =>
      route.find((d: KubeObject) => d.destination?.subset === subset)?.weight ?? Number.NaN;
    return [of('stable'), of('canary')];
  };
  const hashOf = (subset: string): string | undefined =>
    dr?.spec?.subsets?.find((s: KubeObject) => s.name === subset)?.labels?.['rollouts-pod-template-hash'];
  const status = rollout?.status ?? {};
  return {
    phase: status.phase ?? '',
    step: status.currentStepIndex,
    paused: (status.pauseConditions ?? []).map((c: KubeObject) => c.reason),
    aborted: status.abort === true,
    stableHash: status.stableRS,
    canaryHash: status.currentPodHash,
    weights: [weightsOf(vs), weightsOf(mesh)],
    subsets: [hashOf('stable'), hashOf('canary')],
    message: status.message ?? '',
  };
}

/**
 * Records every distinct state until `stop()`: polled twice a second, which is
 * far shorter than any step (an analysis takes at least 30 s).
 */
export function record(kubectl: Kubectl, namespace: string): { states: State[]; stop(): Promise<void> } {
  const states: State[] = [];
  let running = true;
  const poll = async (): Promise<void> => {
    const s = await state(kubectl, namespace).catch(() => undefined);
    if (s && JSON.stringify(s) !== JSON.stringify(states.at(-1))) states.push(s);
  };
  const loop = (async () => {
    while (running) {
      await poll();
      await new Promise((r) => setTimeout(r, 500));
    }
    // The state the caller waited for, even if it came after the last poll.
    await poll();
  })();
  return {
    states,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

export interface Options {
  /**
   * Keep the split Job gate (its pod reaches the Service through the
   * namespace's Envoy, mesh.ts); by default the Prometheus gates alone, since
   * each of them must fail a sick canary by itself.
   */
  splitGate?: boolean;
}

/**
 * The docs' install into a namespace: kubernetes/argo-rollouts/ as
 * `kubectl apply -k` applies it, with the `prometheus-address` default of
 * both Prometheus templates changed to the local Prometheus (the docs' first
 * way) before it is applied: the controller judges the Rollout against the
 * templates as they are, and two defaults that differ even for a moment make
 * it InvalidSpec. Then v1 Healthy.
 */
export async function deployV1(kubectl: Kubectl, namespace: string, options: Options = {}): Promise<void> {
  const prometheus = kubectl.cluster.prometheusUrl;
  if (prometheus === undefined) throw new Error('Prometheus is not installed: apt-get install prometheus');
  await kubectl(['label', 'namespace', namespace, 'istio-injection=enabled', '--overwrite']);
  const built = await kubectl(['kustomize', 'kubernetes/argo-rollouts/']);
  const defaults = built.split('value: http://prometheus.istio-system:9090').length - 1;
  if (defaults !== 2) throw new Error(`expected the address as the default of 2 templates, found ${defaults}`);
  const local = built.replaceAll('value: http://prometheus.istio-system:9090', `value: ${prometheus}`);
  await kubectl(['apply', '-f', '-'], { namespace, input: local });
  if (!options.splitGate) {
    const rollout = JSON.parse(await kubectl(['get', 'rollout', 'ecadraft', '-o', 'json'], { namespace }));
    const ops = rollout.spec.strategy.canary.steps.flatMap((s: KubeObject, i: number) => {
      const j = s.analysis?.templates?.findIndex((x: KubeObject) => x.templateName === 'ecadraft-split') ?? -1;
      const at = `/spec/strategy/canary/steps/${i}/analysis/templates/${j}`;
      return j < 0
        ? []
        : [
            { op: 'test', path: `${at}/templateName`, value: 'ecadraft-split' },
            { op: 'remove', path: at },
          ];
    });
    await kubectl(['patch', 'rollout', 'ecadraft', '--type', 'json', '-p', JSON.stringify(ops)], { namespace });
  }
  await kubectl(['argo', 'rollouts', 'status', 'ecadraft', '--timeout', '300s'], { namespace });
}

/** A release patch of releases/ as the docs apply it, with env added to the container's (the fault knobs). */
export function releasePatch(release: 'v1' | 'v2' | 'v2-errors', extraEnv: Record<string, string> = {}): string {
  const ops = JSON.parse(readFileSync(path.join(ROOT, 'kubernetes/argo-rollouts/releases', `${release}.json`), 'utf8'));
  const env = ops.find((o: KubeObject) => o.path === '/spec/template/spec/containers/0/env');
  env.value.push(...Object.entries(extraEnv).map(([name, value]) => ({ name, value })));
  return JSON.stringify(ops);
}

export async function release(kubectl: Kubectl, namespace: string, name: 'v1' | 'v2' | 'v2-errors', extraEnv = {}) {
  if (Object.keys(extraEnv).length === 0) {
    // Verbatim, as the docs run it.
    const file = `kubernetes/argo-rollouts/releases/${name}.json`;
    return kubectl(['patch', 'rollout', 'ecadraft', '--type', 'json', '--patch-file', file], { namespace });
  }
  return kubectl(['patch', 'rollout', 'ecadraft', '--type', 'json', '-p', releasePatch(name, extraEnv)], { namespace });
}

export function rolloutPath(namespace: string): string {
  return `${ARGO}/namespaces/${namespace}/rollouts/ecadraft`;
}

/** Waits for the Rollout's status to satisfy `check`. */
export function waitForRollout(
  kubectl: Kubectl,
  namespace: string,
  what: string,
  check: (status: KubeObject) => boolean,
  timeoutMs = 600_000,
): Promise<KubeObject> {
  return waitForObject(kubectl.api, rolloutPath(namespace), what, (o) => check(o.status ?? {}), timeoutMs);
}

/** The AnalysisRuns of a namespace, oldest first. */
export async function analysisRuns(kubectl: Kubectl, namespace: string): Promise<KubeObject[]> {
  const list = await kubectl.api.get(`${ARGO}/namespaces/${namespace}/analysisruns`);
  return (list?.items ?? []).sort((a: KubeObject, b: KubeObject) =>
    a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp),
  );
}

/**
 * Plain loopback traffic, no mesh: GET /tickets to every Ready pod of the
 * namespace in turn, about `perSecond` requests a second in all, until stopped.
 * It is what the Prometheus gates measure; the weights play no part in it.
 */
export function load(kubectl: Kubectl, namespace: string, perSecond = 40): { stop(): Promise<void>; sent(): number } {
  let running = true;
  let sent = 0;
  let targets: string[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const refresh = (async () => {
    while (running) {
      const pods = await readyPods(kubectl.api, namespace, 'app=ecadraft').catch(() => []);
      targets = pods.map((p) => p.metadata.annotations?.[POD_ADDRESS_ANNOTATION]).filter(Boolean);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const send = (async () => {
    for (let i = 0; running; i++) {
      const target = targets[i % Math.max(1, targets.length)];
      if (target !== undefined) {
        sent += 1;
        const req = http.get(`http://${target}/tickets`, { agent, timeout: 5000 }, (res) => res.resume());
        req.on('timeout', () => req.destroy());
        req.on('error', () => {});
      }
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all([refresh, send]);
      agent.destroy();
    },
  };
}

/** The index of the first state at or after `from` that satisfies `check`, or -1. */
export function findState(states: State[], check: (s: State) => boolean, from = 0): number {
  for (let i = from; i < states.length; i++) if (check(states[i] as State)) return i;
  return -1;
}

export const weightsAre = (s: State, canary: number): boolean =>
  s.weights.every(([stable, c]) => stable === 100 - canary && c === canary);

/** Waits until the Prometheus has a series of the app for each of these pod-template hashes. */
export async function scraped(cluster: Cluster, namespace: string): Promise<void> {
  await until(`Prometheus to scrape namespace ${namespace}`, async () => {
    const q = encodeURIComponent(`up{namespace="${namespace}"} == 1`);
    const res = await fetch(`${cluster.prometheusUrl}/api/v1/query?query=${q}`);
    const body = (await res.json()) as { data: { result: unknown[] } };
    return body.data.result.length > 0;
  });
}
