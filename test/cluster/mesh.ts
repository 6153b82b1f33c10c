// The mesh's data plane for callers inside a namespace, on the local control
// plane: a real Envoy per namespace (src/demo/envoy.ts, configured as
// envoy-config.ts translates Istio's objects), standing in for the sidecar a
// meshed pod would send through. It follows the live objects, as istiod
// pushes them: the routes are the http rules of the namespace's
// VirtualService bound to the `mesh` gateway for the Service's host, the
// clusters the DestinationRule's subsets, and each subset's endpoints the
// Ready pods of the Service that match the subset's labels (their process on
// 127.0.0.1). Argo Rollouts rewrites the weights and the subsets'
// rollouts-pod-template-hash labels during a release: a watch on both kinds
// rewrites the route and endpoint files, as does every pod readiness change
// the pod runner reports.
//
// An Envoy starts the first time a pod of its namespace calls the Service
// (`address()`), and stops when its DestinationRule or VirtualService goes.

import { Envoy, findEnvoy, type Pod } from '../../src/demo/envoy.ts';
import type { DestinationRule, HttpRule } from '../../src/demo/envoy-config.ts';
import { checkDestinationRule, checkHttpRules } from '../../src/demo/envoy-config.ts';
import type { KubeApi, KubeObject } from './kube-api.ts';

/** A pod the pod runner runs: its object, whether it is Ready, and where each container port listens. */
export interface Member {
  pod: KubeObject;
  ready: boolean;
  ports: Record<string, number>;
}

interface Plane {
  host: string;
  envoy: Envoy;
  /** The DestinationRule without its subsets' labels: what the clusters were made from. */
  clusters: string;
  routes: string;
  endpoints: Map<string, string>;
}

/** What the namespace's API objects say for the Service `host`, or why there is no mesh for it. */
interface Routing {
  rule: DestinationRule;
  rules: HttpRule[];
  service: KubeObject;
}

const ISTIO = '/apis/networking.istio.io/v1';

const names = (host: string, namespace: string): string[] => [
  host,
  `${host}.${namespace}`,
  `${host}.${namespace}.svc`,
  `${host}.${namespace}.svc.cluster.local`,
];

const matches = (labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean =>
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);

export class Mesh {
  readonly #planes = new Map<string, Plane>();
  readonly #starting = new Map<string, Promise<Plane | undefined>>();
  readonly #refreshing = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #watches: { stop(): void }[] = [];

  constructor(
    private readonly api: KubeApi,
    private readonly members: (namespace: string) => Member[],
    private readonly log: (line: string) => void,
  ) {
    for (const kind of ['destinationrules', 'virtualservices']) {
      this.#watches.push(api.watch(`${ISTIO}/${kind}`, (_type, o) => void this.changed(o.metadata.namespace)));
    }
  }

  /**
   * `127.0.0.1:<port>` of the namespace's Envoy for the Service `host`
   * (short or fully qualified), started where it is not running yet, or
   * undefined where the namespace has no DestinationRule and mesh
   * VirtualService for it (or Envoy is not installed).
   */
  async address(namespace: string, host: string): Promise<string | undefined> {
    let plane = this.#planes.get(namespace);
    if (plane === undefined) {
      let starting = this.#starting.get(namespace);
      if (starting === undefined) {
        // A pod whose Envoy would not start runs anyway, unrouted, and fails as it would without a mesh.
        starting = this.#start(namespace, host)
          .catch((e) => {
            this.log(`mesh ${namespace}: Envoy did not start: ${(e as Error).message}`);
            return undefined;
          })
          .finally(() => this.#starting.delete(namespace));
        this.#starting.set(namespace, starting);
      }
      plane = await starting;
    }
    if (plane === undefined || !names(plane.host, namespace).includes(host)) return undefined;
    // The routes and endpoints as they are now, before the caller's first request.
    await this.changed(namespace);
    return new URL(plane.envoy.url).host;
  }

  /** Something the namespace's Envoy reads from may have changed: refresh it (changes coalesce). */
  changed(namespace: string): Promise<void> {
    if (!this.#planes.has(namespace)) return Promise.resolve();
    this.#dirty.add(namespace);
    let running = this.#refreshing.get(namespace);
    if (running === undefined) {
      running = (async () => {
        while (this.#dirty.delete(namespace)) {
          await this.#refresh(namespace).catch((e) => this.log(`mesh ${namespace}: ${(e as Error).message}`));
        }
      })().finally(() => this.#refreshing.delete(namespace));
      this.#refreshing.set(namespace, running);
    }
    return running;
  }

  async stop(): Promise<void> {
    for (const watch of this.#watches) watch.stop();
    await Promise.all([...this.#planes.values()].map((p) => p.envoy.stop()));
    this.#planes.clear();
  }

  async #routing(namespace: string, host: string): Promise<Routing | undefined> {
    const [rules, services, virtualServices] = await Promise.all([
      this.api.get(`${ISTIO}/namespaces/${namespace}/destinationrules`),
      this.api.get(`/api/v1/namespaces/${namespace}/services`),
      this.api.get(`${ISTIO}/namespaces/${namespace}/virtualservices`),
    ]);
    const known = names(host, namespace);
    const rule = rules?.items?.find((r: KubeObject) => known.includes(r.spec?.host));
    const service = services?.items?.find((s: KubeObject) => known.includes(s.metadata.name));
    // Bound to the mesh: `gateways` names `mesh`, or is empty (Istio's default).
    const vs = virtualServices?.items?.find(
      (v: KubeObject) =>
        (v.spec?.gateways ?? ['mesh']).includes('mesh') && (v.spec?.hosts ?? []).some((h: string) => known.includes(h)),
    );
    if (rule === undefined || service === undefined || vs === undefined) return undefined;
    const where = `namespace ${namespace}`;
    return {
      rule: checkDestinationRule(`${where}, DestinationRule ${rule.metadata.name}`, rule.spec),
      rules: checkHttpRules(`${where}, VirtualService ${vs.metadata.name}`, vs.spec.http ?? []),
      service,
    };
  }

  /** Each subset's endpoints: the Service's Ready pods with the subset's labels, at the Service's target port. */
  #endpoints(namespace: string, routing: Routing): Record<string, Pod[]> {
    const port = routing.service.spec.ports?.[0];
    const ready = this.members(namespace).filter(
      (m) => m.ready && matches(m.pod.metadata.labels, routing.service.spec.selector),
    );
    const at = (m: Member): number | undefined => {
      const target = port?.targetPort ?? port?.port;
      const containerPort =
        typeof target === 'number'
          ? target
          : m.pod.spec.containers[0].ports?.find((p: KubeObject) => p.name === target)?.containerPort;
      return m.ports[String(containerPort)];
    };
    return Object.fromEntries(
      routing.rule.subsets.map((subset) => [
        subset.name,
        ready
          .filter((m) => matches(m.pod.metadata.labels, subset.labels) && at(m) !== undefined)
          .map((m) => ({ subset: subset.name, url: `http://127.0.0.1:${at(m)}` })),
      ]),
    );
  }

  async #start(namespace: string, host: string): Promise<Plane | undefined> {
    const routing = await this.#routing(namespace, host);
    if (routing === undefined) return undefined;
    const binary = findEnvoy();
    if (binary === undefined) {
      this.log(`mesh ${namespace}: Envoy is not installed (bash .ci/tools.sh envoy); ${host} stays unrouted`);
      return undefined;
    }
    const endpoints = this.#endpoints(namespace, routing);
    const envoy = await Envoy.start({ routes: routing.rules, destinationRule: routing.rule, endpoints, binary });
    const plane: Plane = {
      host: routing.rule.host,
      envoy,
      clusters: clustersOf(routing.rule),
      routes: JSON.stringify(routing.rules),
      endpoints: new Map(Object.entries(endpoints).map(([s, pods]) => [s, JSON.stringify(pods)])),
    };
    this.#planes.set(namespace, plane);
    this.log(`mesh ${namespace}: Envoy for ${plane.host} on ${envoy.url} (admin ${envoy.adminUrl})`);
    return plane;
  }

  async #refresh(namespace: string): Promise<void> {
    const plane = this.#planes.get(namespace);
    if (plane === undefined) return;
    const routing = await this.#routing(namespace, plane.host);
    if (routing === undefined || clustersOf(routing.rule) !== plane.clusters) {
      // Gone (the namespace with it), or other clusters than Envoy was started
      // with: the next caller starts a fresh one.
      this.#planes.delete(namespace);
      await plane.envoy.stop();
      this.log(`mesh ${namespace}: Envoy stopped (its DestinationRule or VirtualService changed or went)`);
      return;
    }
    const routes = JSON.stringify(routing.rules);
    if (routes !== plane.routes) {
      await plane.envoy.setRoutes(routing.rules, `namespace ${namespace}'s mesh VirtualService`);
      plane.routes = routes;
      this.log(`mesh ${namespace}: routes ${summary(routing.rules)}`);
    }
    for (const [subset, pods] of Object.entries(this.#endpoints(namespace, routing))) {
      const json = JSON.stringify(pods);
      if (json === plane.endpoints.get(subset)) continue;
      await plane.envoy.setEndpoints(subset, pods);
      plane.endpoints.set(subset, json);
      this.log(`mesh ${namespace}: ${subset} -> ${pods.map((p) => p.url).join(' ') || 'no endpoint'}`);
    }
  }
}

/** The DestinationRule as Envoy's clusters depend on it: everything but the subsets' labels. */
function clustersOf(rule: DestinationRule): string {
  return JSON.stringify({ ...rule, subsets: rule.subsets.map(({ labels: _labels, ...rest }) => rest) });
}

/** `primary: stable=90 canary=10` for the log. */
function summary(rules: HttpRule[]): string {
  return rules
    .map((r) => `${r.name ?? '-'}: ${r.route.map((d) => `${d.destination.subset}=${d.weight ?? 100}`).join(' ')}`)
    .join('; ');
}
