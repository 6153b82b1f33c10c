// The pod runner: the part of a kubelet the local control plane needs, for the
// pods the scheduler binds to kwok's fake nodes. kwok keeps the nodes alive;
// this starts each pod's real container command with the pod's env as a
// loopback process, and writes the pod's status from what really happens:
// Running once started, Ready from its real readiness probe, Succeeded or
// Failed from its exit code, and removes a deleted pod once its process has
// stopped (SIGTERM, then SIGKILL after the pod's grace period).
//
// Without a pod network, each pod gets a made-up pod IP (10.244.x.y, so that
// the EndpointSlice controller takes it) and listens on 127.0.0.1 with a free
// port per container port: the annotation POD_ADDRESS_ANNOTATION says where
// the first one is, and PORT_ANNOTATION maps every container port. It lists
// the pods to scrape for Prometheus (SCRAPE_TARGETS). ecadraft's image runs
// `node dist/server.js`; here that is this checkout's build.
//
// There is no cluster DNS and no sidecar, so a pod that calls a Service of
// its namespace by URL (the split Job's `http://ecadraft/tickets`) could
// reach nothing. In their place, the pod runner rewrites the host of every
// `<scheme>://<service>` in the container's command, args and env values to
// the 127.0.0.1 listener of its namespace's Envoy (mesh.ts), where that
// namespace has a DestinationRule and a mesh VirtualService for the Service:
// `http://ecadraft/tickets` becomes `http://127.0.0.1:<envoy's port>/tickets`,
// and the request takes the routes and endpoints a sidecar would.
//
// Run by control-plane.ts as a daemon: node --import=tsx test/cluster/pod-runner.ts
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { imageCommand, ROOT } from '../helpers/process.ts';
import { CLUSTER_DIR, clusterApi, NODE_ANNOTATION, POD_ADDRESS_ANNOTATION, SCRAPE_TARGETS } from './control-plane.ts';
import type { KubeApi, KubeObject } from './kube-api.ts';
import { Mesh } from './mesh.ts';

/** `{"8080": 41234, ...}`: each container port and where its process listens on 127.0.0.1. */
export const PORT_ANNOTATION = 'local.ecadraft.dev/ports';

/** The image's own command (the Dockerfile's CMD), for a container that gives none. */
const IMAGE_CMD = imageCommand(ROOT);
const isEcadraftImage = (image: string): boolean => /(^|\/)ecadraft(:|@|$)/.test(image);

interface Probe {
  httpGet?: { path?: string; port: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

interface Running {
  pod: KubeObject;
  child?: ChildProcess;
  ports: Record<string, number>;
  podIP: string;
  ready: boolean;
  restarts: number;
  startedAt: string;
  deleting: boolean;
  done: boolean;
  /** Points the Service URLs of the pod's command, args and env at its namespace's Envoy (see above). */
  rewrite: (text: string) => string;
}

const api: KubeApi = clusterApi();
const pods = new Map<string, Running>();
const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};
const mesh = new Mesh(
  api,
  (namespace) =>
    [...pods.values()].filter((r) => r.pod.metadata.namespace === namespace && !r.deleting && r.child !== undefined),
  log,
);
let nextIP = 1;
let managedNodes = new Set<string>();

const podPath = (pod: KubeObject): string => `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
const podKey = (pod: KubeObject): string => `${pod.metadata.namespace}_${pod.metadata.name}`;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The container's command line, the image's CMD where it gives none; `node` is this Node.js. */
function commandLine(container: KubeObject, r: Running): string[] | undefined {
  const command: string[] | undefined = container.command ?? (isEcadraftImage(container.image) ? IMAGE_CMD : undefined);
  if (command === undefined || command.length === 0) return undefined;
  const line = [...command, ...(container.args ?? [])].map(r.rewrite);
  if (line[0] === 'node') line[0] = process.execPath;
  return line;
}

function envOf(pod: KubeObject, container: KubeObject, r: Running): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/tmp', HOST: '127.0.0.1' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = r.rewrite(e.value);
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (field === 'metadata.name') env[e.name] = pod.metadata.name;
    if (field === 'metadata.namespace') env[e.name] = pod.metadata.namespace;
    if (field === 'status.podIP') env[e.name] = r.podIP;
  }
  if (env.PORT !== undefined) {
    const mapped = r.ports[env.PORT];
    if (mapped !== undefined) env.PORT = String(mapped);
  }
  return env;
}

/** The 127.0.0.1 port a probe's `port` (a number or a container port's name) means. */
function probePort(container: KubeObject, r: Running, port: number | string): number | undefined {
  const containerPort =
    typeof port === 'number' ? port : container.ports?.find((p: KubeObject) => p.name === port)?.containerPort;
  return containerPort === undefined ? undefined : r.ports[String(containerPort)];
}

function httpProbe(port: number, urlPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- scrape targets ------------------------------------------------------------

const targets = new Map<string, { targets: string[]; labels: Record<string, string> }>();

/** A Prometheus label name for a Kubernetes label key, as its discovery makes them. */
const labelName = (key: string): string => key.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * A running pod annotated prometheus.io/scrape becomes a target as Istio's
 * add-on relabels it: the process behind prometheus.io/port, the path of
 * prometheus.io/path, labels namespace, pod and every pod label.
 */
function scrape(r: Running, running: boolean): void {
  const pod = r.pod;
  const annotations = pod.metadata.annotations ?? {};
  const port = r.ports[annotations['prometheus.io/port'] ?? ''];
  if (running && annotations['prometheus.io/scrape'] === 'true' && port !== undefined) {
    const labels: Record<string, string> = { __metrics_path__: annotations['prometheus.io/path'] ?? '/metrics' };
    for (const [key, value] of Object.entries<string>(pod.metadata.labels ?? {})) labels[labelName(key)] = value;
    labels.namespace = pod.metadata.namespace;
    labels.pod = pod.metadata.name;
    targets.set(pod.metadata.uid, { targets: [`127.0.0.1:${port}`], labels });
  } else if (!targets.delete(pod.metadata.uid)) return;
  // Whole or not at all: Prometheus may read it at any time.
  writeFileSync(`${SCRAPE_TARGETS}.tmp`, JSON.stringify([...targets.values()], null, 1));
  renameSync(`${SCRAPE_TARGETS}.tmp`, SCRAPE_TARGETS);
}

async function writeStatus(r: Running, phase?: 'Succeeded' | 'Failed', exitCode?: number): Promise<void> {
  const now = new Date().toISOString();
  const container = r.pod.spec.containers[0];
  const ready = r.ready && phase === undefined;
  const condition = (type: string, status: boolean, reason?: string): KubeObject => ({
    type,
    status: status ? 'True' : 'False',
    lastTransitionTime: now,
    ...(reason ? { reason } : {}),
  });
  const finished = phase === undefined ? undefined : phase === 'Succeeded' ? 'Completed' : 'Error';
  const status = {
    phase: phase ?? 'Running',
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: r.podIP,
    podIPs: [{ ip: r.podIP }],
    startTime: r.startedAt,
    conditions: [
      condition('PodScheduled', true),
      condition('Initialized', true),
      condition('ContainersReady', ready, finished ? 'PodCompleted' : undefined),
      condition('Ready', ready, finished ? 'PodCompleted' : undefined),
    ],
    containerStatuses: [
      {
        name: container.name,
        image: container.image,
        imageID: '',
        ready,
        started: phase === undefined,
        restartCount: r.restarts,
        state:
          phase === undefined
            ? { running: { startedAt: r.startedAt } }
            : { terminated: { exitCode, reason: finished, startedAt: r.startedAt, finishedAt: now } },
      },
    ],
  };
  void mesh.changed(r.pod.metadata.namespace);
  await api.request('PATCH', `${podPath(r.pod)}/status`, { status }, 'application/merge-patch+json');
}

async function runProbes(r: Running, container: KubeObject, child: ChildProcess): Promise<void> {
  const alive = (): boolean => r.child === child && child.exitCode === null && !r.deleting;
  const check = async (probe: Probe | undefined): Promise<boolean> => {
    if (probe?.httpGet === undefined) return true;
    const port = probePort(container, r, probe.httpGet.port);
    return port !== undefined && httpProbe(port, probe.httpGet.path ?? '/', (probe.timeoutSeconds ?? 1) * 1000);
  };
  const startup: Probe | undefined = container.startupProbe;
  for (let failures = 0; alive() && !(await check(startup)); ) {
    if (++failures >= (startup?.failureThreshold ?? 3)) {
      log(`${podKey(r.pod)}: startup probe failed ${failures} times; stopping it`);
      child.kill('SIGKILL');
      return;
    }
    await sleep((startup?.periodSeconds ?? 10) * 1000);
  }
  const readiness: Probe | undefined = container.readinessProbe;
  let failures = 0;
  while (alive()) {
    const ok = await check(readiness);
    if (!alive()) return;
    failures = ok ? 0 : failures + 1;
    const ready = ok || (r.ready && failures < (readiness?.failureThreshold ?? 3));
    if (ready !== r.ready) {
      r.ready = ready;
      log(`${podKey(r.pod)}: ready ${ready}`);
      await writeStatus(r).catch((e) => log(`${podKey(r.pod)}: status: ${(e as Error).message}`));
    }
    if (readiness === undefined) return;
    await sleep((readiness.periodSeconds ?? 10) * 1000);
  }
}

function startProcess(r: Running): void {
  const pod = r.pod;
  const container = pod.spec.containers[0];
  const line = commandLine(container, r);
  if (line === undefined) {
    log(`${podKey(pod)}: no command to run for image ${container.image}; left Pending`);
    return;
  }
  const [program, ...args] = line as [string, ...string[]];
  const out = openSync(path.join(CLUSTER_DIR, 'pods', `${podKey(pod)}.log`), 'a');
  const child = spawn(program, args, { cwd: ROOT, env: envOf(pod, container, r), stdio: ['ignore', out, out] });
  r.child = child;
  r.startedAt = new Date().toISOString();
  writeFileSync(path.join(CLUSTER_DIR, 'pods', `${podKey(pod)}.pid`), `${child.pid}\n${program}\n`);
  log(`${podKey(pod)}: started ${line.join(' ')} (pid ${child.pid}, ports ${JSON.stringify(r.ports)})`);
  scrape(r, true);
  child.on('error', (error) => log(`${podKey(pod)}: ${error.message}`));
  child.on('exit', (code, signal) => void exited(r, child, code ?? (signal ? 128 : 1)));
  void writeStatus(r)
    .then(() => runProbes(r, container, child))
    .catch((e) => log(`${podKey(pod)}: ${(e as Error).message}`));
}

async function exited(r: Running, child: ChildProcess, code: number): Promise<void> {
  if (r.child !== child) return;
  r.child = undefined;
  r.ready = false;
  scrape(r, false);
  rmSync(path.join(CLUSTER_DIR, 'pods', `${podKey(r.pod)}.pid`), { force: true });
  log(`${podKey(r.pod)}: exited ${code}`);
  if (r.deleting) return removePod(r);
  const policy = r.pod.spec.restartPolicy ?? 'Always';
  if (policy === 'Always' || (policy === 'OnFailure' && code !== 0)) {
    r.restarts += 1;
    await writeStatus(r).catch(() => {});
    await sleep(Math.min(10_000, 1000 * 2 ** (r.restarts - 1)));
    if (!r.deleting && !r.done) startProcess(r);
    return;
  }
  r.done = true;
  await writeStatus(r, code === 0 ? 'Succeeded' : 'Failed', code).catch((e) =>
    log(`${podKey(r.pod)}: status: ${(e as Error).message}`),
  );
}

async function removePod(r: Running): Promise<void> {
  pods.delete(r.pod.metadata.uid);
  await api
    .request('DELETE', podPath(r.pod), { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 })
    .catch((e) => log(`${podKey(r.pod)}: delete: ${(e as Error).message}`));
}

/** `scheme://host[:port]` in a command line or an env value: the host is a Service's name, short or qualified. */
const SERVICE_URL =
  /(?<=^|[^\w.-])([a-z][a-z0-9+.-]*:\/\/)([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)*)(:\d+)?(?=[/?#]|$)/g;

/** The rewrite of the Service URLs of a container to its namespace's Envoy, where the mesh routes them (see above). */
async function serviceUrls(pod: KubeObject, container: KubeObject): Promise<(text: string) => string> {
  const texts: string[] = [
    ...(container.command ?? []),
    ...(container.args ?? []),
    ...(container.env ?? []).flatMap((e: KubeObject) => (e.value === undefined ? [] : [e.value])),
  ];
  const hosts = new Set(texts.flatMap((text) => [...text.matchAll(SERVICE_URL)].map((m) => m[2] as string)));
  const routed = new Map<string, string>();
  for (const host of hosts) {
    const address = await mesh.address(pod.metadata.namespace, host);
    if (address === undefined) continue;
    routed.set(host, address);
    log(`${podKey(pod)}: ${host} -> ${address}, the Envoy of namespace ${pod.metadata.namespace}`);
  }
  if (routed.size === 0) return (text) => text;
  return (text) =>
    text.replace(SERVICE_URL, (url, scheme: string, host: string) => {
      const address = routed.get(host);
      return address === undefined ? url : `${scheme}${address}`;
    });
}

async function admit(pod: KubeObject): Promise<void> {
  const r: Running = {
    pod,
    ports: {},
    podIP: `10.244.${Math.floor(nextIP / 250)}.${(nextIP % 250) + 1}`,
    ready: false,
    restarts: 0,
    startedAt: new Date().toISOString(),
    deleting: false,
    done: false,
    rewrite: (text) => text,
  };
  nextIP += 1;
  pods.set(pod.metadata.uid, r);
  const container = pod.spec.containers[0];
  for (const p of container.ports ?? []) r.ports[String(p.containerPort)] = await freePort();
  const env = (container.env ?? []).find((e: KubeObject) => e.name === 'PORT')?.value;
  if (env !== undefined && r.ports[env] === undefined) r.ports[env] = await freePort();
  r.rewrite = await serviceUrls(pod, container);
  const first = Object.values(r.ports)[0];
  await api.patch(podPath(pod), {
    metadata: {
      annotations: {
        [PORT_ANNOTATION]: JSON.stringify(r.ports),
        ...(first === undefined ? {} : { [POD_ADDRESS_ANNOTATION]: `127.0.0.1:${first}` }),
      },
    },
  });
  startProcess(r);
}

function onPod(type: string, pod: KubeObject): void {
  const uid: string = pod.metadata.uid;
  const known = pods.get(uid);
  if (type === 'DELETED') {
    if (known) {
      scrape(known, false);
      known.deleting = true;
      known.child?.kill('SIGKILL');
      pods.delete(uid);
      void mesh.changed(pod.metadata.namespace);
    }
    return;
  }
  if (!managedNodes.has(pod.spec.nodeName)) return;
  if (pod.metadata.deletionTimestamp) {
    if (known === undefined) {
      void api.request('DELETE', podPath(pod), { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
      return;
    }
    if (known.deleting) return;
    known.deleting = true;
    known.ready = false;
    void mesh.changed(pod.metadata.namespace);
    const child = known.child;
    if (child === undefined) return void removePod(known);
    log(`${podKey(pod)}: stopping`);
    child.kill('SIGTERM');
    const grace = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), grace).unref();
    return;
  }
  if (known) {
    known.pod = { ...pod, spec: known.pod.spec };
    return;
  }
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  void admit(pod).catch((e) => log(`${podKey(pod)}: ${(e as Error).message}`));
}

async function main(): Promise<void> {
  const nodes = await api.get('/api/v1/nodes');
  managedNodes = new Set(
    (nodes?.items ?? [])
      .filter((n: KubeObject) => n.metadata.annotations?.[NODE_ANNOTATION] === 'fake')
      .map((n: KubeObject) => n.metadata.name),
  );
  const watch = api.watch('/api/v1/pods', onPod);
  writeFileSync(SCRAPE_TARGETS, '[]');
  writeFileSync(path.join(CLUSTER_DIR, 'pod-runner.ready'), `${process.pid}\n`);
  log(`pod runner: watching the pods of ${[...managedNodes].join(', ')}`);
  const stop = (): void => {
    watch.stop();
    void mesh.stop();
    for (const r of pods.values()) r.child?.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

await main();
