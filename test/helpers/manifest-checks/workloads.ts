// The Deployments and Rollouts: which pods they make, how those pods start,
// stop, roll out, spread and get scraped, and whether the app in them would
// run as configured. The app itself answers the questions about the app. How
// a Rollout moves from one release to the next is tested on the real
// controller (test/real/cluster-rollout.test.ts).
import { parseAllDocuments } from 'yaml';
import { objectName } from '../manifests.ts';
import {
  type AppFacts,
  type Container,
  durationMs,
  isZero,
  type LabelSelector,
  type Namespace,
  selects,
  showLabels,
  showSelector,
  type Workload,
} from './namespace.ts';

type AppConfig = ReturnType<AppFacts['config']>;
type Say = (message: string) => void;
type PodSpec = NonNullable<NonNullable<NonNullable<Workload['spec']>['template']>['spec']>;
type Probe = NonNullable<Container['readinessProbe']>;

export async function checkWorkloads(ns: Namespace): Promise<void> {
  for (const w of ns.workloads) {
    const report: Say = (message) => ns.report(w.manifest, message);
    const spec = w.spec;
    if (!spec) {
      report('has no spec');
      continue;
    }
    checkPodIdentity(w, ns.workloads, report);
    if (w.manifest.kind === 'Deployment') checkRollingUpdate(w, report);
    const podSpec = spec.template?.spec;
    if (!podSpec) {
      report('pod template has no spec');
      continue;
    }
    if (podSpec.containers.length === 0) {
      report('has no containers');
      continue;
    }
    checkSpread(w, podSpec, ns.workloads, report);
    let app: AppConfig | undefined;
    for (const c of podSpec.containers) {
      const config = await checkContainer(w, c, podSpec, ns.app, (message) =>
        report(`container ${c.name}: ${message}`),
      );
      app ??= config;
    }
    if (app) {
      checkShutdown(w, podSpec, app, report);
      await checkScrape(w, app, ns.app, report);
    }
  }
}

/**
 * The pods' identity: what the Service, subsets and policies select on. A
 * Rollout's selector leaves the version out on purpose: one Rollout owns
 * every version, and tells its ReplicaSets apart by their pod-template hash.
 */
function checkPodIdentity(w: Workload, all: readonly Workload[], report: Say): void {
  const selector = w.spec?.selector as LabelSelector;
  if (!selects(selector, w.labels))
    report(`selector ${showSelector(selector)} does not match its pod labels ${showLabels(w.labels)}`);
  if (w.labels.version === undefined)
    report('pod template has no version label, so no DestinationRule subset can pick these pods');
  if (w.manifest.kind === 'Deployment' && !Object.hasOwn(selector.matchLabels ?? {}, 'version'))
    report('selector does not include the version label, so it can claim the pods of the other version');
  for (const other of all) {
    if (other !== w && selects(selector, other.labels))
      report(`selector ${showSelector(selector)} also selects the pods of ${objectName(other.manifest)}`);
  }
}

/** A Deployment's rolling update never takes the last ready pod away. */
function checkRollingUpdate(w: Workload, report: Say): void {
  const strategy = w.spec?.strategy;
  if (strategy?.type === 'Recreate')
    report('strategy Recreate takes every pod away at once; use a RollingUpdate with maxUnavailable 0');
  else if (!isZero(strategy?.rollingUpdate?.maxUnavailable))
    report(
      `rollingUpdate.maxUnavailable is ${String(strategy?.rollingUpdate?.maxUnavailable ?? 'unset (25%)')}; it must be 0 so a rollout never takes the last ready pod away`,
    );
}

/** The label with which each kind tells the pods of one revision (ReplicaSet) from another's. */
const POD_TEMPLATE_HASH = { Deployment: 'pod-template-hash', Rollout: 'rollouts-pod-template-hash' } as const;

/** Both replicas of a version on different nodes, so one node never takes a whole subset down. */
function checkSpread(w: Workload, podSpec: PodSpec, all: readonly Workload[], report: Say): void {
  const constraint = (podSpec.topologySpreadConstraints ?? []).find((c) => c.topologyKey === 'kubernetes.io/hostname');
  if (!constraint) {
    report(
      'has no topologySpreadConstraints on kubernetes.io/hostname, so the replicas of this version may share a node and go down with it',
    );
    return;
  }
  const say: Say = (message) => report(`topologySpreadConstraints kubernetes.io/hostname: ${message}`);
  if (constraint.maxSkew !== 1)
    say(`maxSkew ${constraint.maxSkew} lets two replicas share a node while another is free`);
  const selector = constraint.labelSelector as LabelSelector | undefined;
  if (!selector || !selects(selector, w.labels))
    say(`labelSelector does not select ${objectName(w.manifest)}'s own pods`);
  else
    for (const other of all)
      if (other !== w && selects(selector, other.labels))
        say(
          `labelSelector ${showSelector(selector)} also counts the pods of ${objectName(other.manifest)}, so it spreads the versions together, not each one`,
        );
  // The scheduler ignores a key the pod does not carry, and then spreads a
  // release's new pods together with the old ones.
  const hash: string = POD_TEMPLATE_HASH[w.manifest.kind as keyof typeof POD_TEMPLATE_HASH];
  const hashes: readonly string[] = Object.values(POD_TEMPLATE_HASH);
  for (const key of constraint.matchLabelKeys ?? [])
    if (hashes.includes(key) && key !== hash)
      say(
        `matchLabelKeys ${key}: the pods of a ${w.manifest.kind} carry ${hash}, not ${key}, so the scheduler ignores it`,
      );
  if ((constraint.whenUnsatisfiable ?? 'DoNotSchedule') === 'DoNotSchedule' && constraint.nodeTaintsPolicy !== 'Honor')
    say(
      'with DoNotSchedule, a node cordoned for a drain still counts (nodeTaintsPolicy defaults to Ignore), so on two nodes the evicted pod cannot be replaced; set nodeTaintsPolicy: Honor',
    );
}

function envOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined && e.value !== null) env[e.name] = e.value;
  return env;
}

/** One container: its image, the version it serves, whether the app starts, its probes, resources and privileges. */
async function checkContainer(
  w: Workload,
  c: Container,
  podSpec: PodSpec,
  app: AppFacts,
  say: Say,
): Promise<AppConfig | undefined> {
  const env = envOf(c);

  // One image, retagged per release.
  const image = c.image ?? '';
  const at = image.lastIndexOf(':');
  const tag = at > image.lastIndexOf('/') ? image.slice(at + 1) : '';
  if (tag !== app.packageVersion)
    say(`image ${image} has tag ${tag || '(none, i.e. latest)'}, but package.json's version is ${app.packageVersion}`);

  const version = w.labels.version;
  if (env.VERSION === undefined)
    say('env VERSION is not set, so the app would serve its default version whatever the version label says');
  else if (env.VERSION !== version)
    say(`env VERSION=${env.VERSION} does not match the pod's version label ${version ?? '(none)'}`);

  // What the app makes of this env: whether it starts, and on which port.
  let config: AppConfig | undefined;
  try {
    config = app.config(env);
  } catch (error) {
    say(`the app would refuse to start with this env: ${(error as Error).message}`);
  }
  const ports = c.ports ?? [];
  if (config) {
    const http = ports.find((p) => p.name === 'http');
    if (!http) say(`has no container port named http (the app listens on ${config.port})`);
    else if (http.containerPort !== config.port)
      say(`container port http is ${http.containerPort}, but the app listens on ${config.port}`);
  }

  await checkProbes(c, config, app, say);
  checkResources(c, say);
  checkPrivileges(c, podSpec, say);
  return config;
}

/** The right endpoints, served by the app, on its port; readiness that survives one slow answer. */
async function checkProbes(c: Container, config: AppConfig | undefined, app: AppFacts, say: Say): Promise<void> {
  const ports = c.ports ?? [];
  const probes: Array<[string, Probe | undefined, string]> = [
    ['readinessProbe', c.readinessProbe ?? undefined, '/readyz'],
    ['livenessProbe', c.livenessProbe ?? undefined, '/healthz'],
    ['startupProbe', c.startupProbe ?? undefined, ''],
  ];
  for (const [kind, probe, expected] of probes) {
    if (!probe) {
      say(`has no ${kind}`);
      continue;
    }
    const get = probe.httpGet;
    if (!get) {
      say(`${kind} is not an httpGet probe`);
      continue;
    }
    const p = get.path ?? '/';
    if (expected && p !== expected) say(`${kind} uses ${p}; it must be ${expected}`);
    if (!(await app.serves(p))) say(`${kind} path ${p} is not served by the app (GET does not answer 200)`);
    const port = get.port;
    const containerPort =
      typeof port === 'number' ? ports.find((q) => q.containerPort === port) : ports.find((q) => q.name === port);
    if (!containerPort) say(`${kind} port ${JSON.stringify(port)} is not a port of this container`);
    else if (config && containerPort.containerPort !== config.port)
      say(
        `${kind} port ${JSON.stringify(port)} is ${containerPort.containerPort}, but the app listens on ${config.port}`,
      );
  }
  // Probes go through the sidecar's agent; a stopping pod leaves the
  // endpoints when it terminates, whatever its readiness says.
  const readiness = c.readinessProbe;
  if (readiness) {
    const failures = readiness.failureThreshold ?? 3;
    const timeout = readiness.timeoutSeconds ?? 1;
    if (failures < 2)
      say(
        `readinessProbe failureThreshold ${failures} takes the pod out of the endpoints on a single slow or failed answer; allow at least 2`,
      );
    if (timeout < 2)
      say(
        `readinessProbe timeoutSeconds ${timeout} fails an answer that takes a second through the sidecar's agent; allow at least 2`,
      );
  }
}

/** Requests for scheduling and the HPA, limits against runaways. */
function checkResources(c: Container, say: Say): void {
  for (const bound of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (c.resources?.[bound]?.[resource] === undefined)
        say(`sets no ${resource} ${bound === 'requests' ? 'request' : 'limit'}`);
    }
  }
}

/** The restricted Pod Security Standard, and a read-only root. */
function checkPrivileges(c: Container, podSpec: PodSpec, say: Say): void {
  const pod = podSpec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? pod.runAsUser;
  const runAsNonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
  const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (runAsNonRoot !== true) say('runAsNonRoot is not true');
  if (runAsUser === undefined || runAsUser === 0)
    say(`runAsUser is ${runAsUser ?? 'unset'}; it must be a numeric non-root user`);
  if (sc.allowPrivilegeEscalation !== false) say('allowPrivilegeEscalation is not false');
  if (sc.privileged === true) say('runs privileged');
  if (sc.readOnlyRootFilesystem !== true) say('readOnlyRootFilesystem is not true');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) say('does not drop ALL capabilities');
  if ((sc.capabilities?.add ?? []).length > 0) say(`adds capabilities ${(sc.capabilities?.add ?? []).join(', ')}`);
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
    say(`seccompProfile is ${seccomp ?? 'unset'}; it must be RuntimeDefault`);
}

interface ProxyConfig {
  terminationDrainDuration?: unknown;
  proxyMetadata?: Record<string, unknown>;
}

/** The `proxy.istio.io/config` annotation: the pod's own settings for its sidecar. */
function proxyConfigOf(w: Workload): ProxyConfig {
  const text = w.spec?.template?.metadata?.annotations?.['proxy.istio.io/config'];
  if (text === undefined) return {};
  const value: unknown = parseAllDocuments(text)[0]?.toJS();
  return value && typeof value === 'object' ? (value as ProxyConfig) : {};
}

/** Istio's defaults for the classic sidecar's stop: the drain duration, and the minimum with EXIT_ON_ZERO_ACTIVE_CONNECTIONS. */
const DEFAULT_DRAIN_MS = 5000;

/**
 * The app's whole stop fits in the grace period, and a classic sidecar keeps
 * forwarding for as long as the app takes requests and drains them. (A native
 * sidecar is stopped after the app; these settings do not matter to it.)
 */
function checkShutdown(w: Workload, podSpec: PodSpec, config: AppConfig, report: Say): void {
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  if (grace * 1000 <= config.shutdownTimeoutMs)
    report(
      `terminationGracePeriodSeconds ${podSpec.terminationGracePeriodSeconds ?? '(default 30)'} does not exceed the app's shutdown (SHUTDOWN_DELAY_MS ${config.shutdownDelayMs} ms plus draining, at most SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} ms), so the kubelet kills it mid-drain`,
    );
  const proxy = proxyConfigOf(w);
  const metadata = proxy.proxyMetadata ?? {};
  if (String(metadata.EXIT_ON_ZERO_ACTIVE_CONNECTIONS) === 'true') {
    const minimum = durationMs(metadata.MINIMUM_DRAIN_DURATION) ?? DEFAULT_DRAIN_MS;
    if (minimum < config.shutdownDelayMs)
      report(
        `with EXIT_ON_ZERO_ACTIVE_CONNECTIONS, the sidecar may stop ${minimum / 1000} s (MINIMUM_DRAIN_DURATION) after the stop signal, while the app still takes requests for SHUTDOWN_DELAY_MS ${config.shutdownDelayMs} ms`,
      );
    if (proxy.terminationDrainDuration !== undefined)
      report('sets terminationDrainDuration, which the sidecar ignores with EXIT_ON_ZERO_ACTIVE_CONNECTIONS');
    return;
  }
  const drain = durationMs(proxy.terminationDrainDuration);
  const shown = drain === undefined ? `(Istio's default ${DEFAULT_DRAIN_MS / 1000} s)` : `${drain / 1000} s`;
  if ((drain ?? DEFAULT_DRAIN_MS) >= grace * 1000)
    report(`the sidecar's terminationDrainDuration ${shown} does not fit in terminationGracePeriodSeconds ${grace}`);
  if ((drain ?? DEFAULT_DRAIN_MS) < config.shutdownTimeoutMs)
    report(
      `the sidecar's terminationDrainDuration ${shown} is shorter than the app's shutdown (up to SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} ms), so Envoy stops while the app still drains; set it, or EXIT_ON_ZERO_ACTIVE_CONNECTIONS`,
    );
}

/**
 * A cluster Prometheus finds /metrics by the pods' annotations. With a
 * sidecar, Istio's injector points them at its agent on port 15020 and merges
 * the app's metrics there, reading the app's port and path from these.
 */
async function checkScrape(w: Workload, config: AppConfig, app: AppFacts, report: Say): Promise<void> {
  const annotations = w.spec?.template?.metadata?.annotations ?? {};
  if (annotations['prometheus.io/scrape'] !== 'true') {
    report(
      'pods are not annotated prometheus.io/scrape: "true", so a cluster Prometheus does not scrape their /metrics',
    );
    return;
  }
  const port = annotations['prometheus.io/port'];
  const path = annotations['prometheus.io/path'] ?? '/metrics';
  if (port !== String(config.port))
    report(`prometheus.io/port is ${port ?? 'unset'}, but the app serves /metrics on ${config.port}`);
  if (path !== '/metrics' || !(await app.serves(path)))
    report(`prometheus.io/path ${path} is not the app's metrics endpoint /metrics`);
}
