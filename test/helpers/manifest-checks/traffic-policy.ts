// DestinationRules and the Sidecar: the connection settings and outlier
// detection that every hop into ecadraft gets, worked out as Istio does.
import { type Manifest, objectName } from '../manifests.ts';
import {
  durationMs,
  type Labels,
  type Namespace,
  type ServiceInfo,
  selects,
  showLabels,
  type Workload,
} from './namespace.ts';
import { type Destination, destinations, ISTIO } from './routing.ts';

interface TrafficPolicy {
  connectionPool?: { http?: { idleTimeout?: string } };
  outlierDetection?: { consecutive5xxErrors?: number; maxEjectionPercent?: number };
}

interface Subset {
  name: string;
  labels?: Labels;
  trafficPolicy?: TrafficPolicy;
}

interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
}

interface SidecarSpec {
  workloadSelector?: { labels?: Labels };
  inboundConnectionPool?: TrafficPolicy['connectionPool'];
  ingress?: Array<{ port: { number: number }; connectionPool?: TrafficPolicy['connectionPool'] }>;
}

const destinationRules = (ns: Namespace) => ns.ofKind<{ spec: DestinationRuleSpec }>(ISTIO, 'DestinationRule');
const sidecars = (ns: Namespace) => ns.ofKind<{ spec?: SidecarSpec }>(ISTIO, 'Sidecar');

/** Envoy's idle timeout for upstream connections when nothing sets one. */
const ENVOY_DEFAULT_IDLE = "Envoy's default of 1 h";
/** Envoy's max_ejection_percent when Istio passes none. */
const ENVOY_DEFAULT_MAX_EJECTION = 10;

/**
 * The rules for a host merged as Istio merges them: subsets are concatenated
 * (the first of a name wins), and the host-wide policy is the first one set.
 */
function mergedRule(ns: Namespace, service: ServiceInfo) {
  let top: { policy: TrafficPolicy; from: Manifest } | undefined;
  const subsets = new Map<string, { subset: Subset; from: Manifest }>();
  for (const { manifest, body } of destinationRules(ns)) {
    if (ns.lookupHost(body.spec.host) !== service) continue;
    if (!top && body.spec.trafficPolicy) top = { policy: body.spec.trafficPolicy, from: manifest };
    for (const subset of body.spec.subsets ?? [])
      if (!subsets.has(subset.name)) subsets.set(subset.name, { subset, from: manifest });
  }
  return { top, subsets };
}

/** What applies to one destination: the host's policy, each part overridden by the subset's own. */
function effectivePolicy(ns: Namespace, service: ServiceInfo, subset?: string) {
  const { top, subsets } = mergedRule(ns, service);
  const own = subset === undefined ? undefined : subsets.get(subset);
  const policy: TrafficPolicy = { ...(top?.policy ?? {}) };
  const subsetPolicy = own?.subset.trafficPolicy;
  if (subsetPolicy?.connectionPool) policy.connectionPool = subsetPolicy.connectionPool;
  if (subsetPolicy?.outlierDetection) policy.outlierDetection = subsetPolicy.outlierDetection;
  const from = [top?.from, own?.subset.trafficPolicy ? own.from : undefined].filter((m): m is Manifest => !!m);
  return { policy, from, subsetLabels: own?.subset.labels ?? {} };
}

const describe = (d: Pick<Destination, 'service' | 'subset'>): string =>
  d.subset === undefined ? `host ${d.service.manifest.name}` : `host ${d.service.manifest.name} subset ${d.subset}`;

/** Each destination once, at the first route that sends to it; a subset no rule defines is left to the route's check. */
function distinctDestinations(ns: Namespace): Destination[] {
  const seen = new Set<string>();
  return destinations(ns).filter((d) => {
    if (d.subset !== undefined && !mergedRule(ns, d.service).subsets.has(d.subset)) return false;
    const key = `${d.service.manifest.name} ${d.subset ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** DestinationRules name Services defined here, and their subsets select pods of those Services. */
export function checkDestinationRules(ns: Namespace): void {
  for (const { manifest: m, body } of destinationRules(ns)) {
    const target = ns.resolveHost(m, 'spec.host', body.spec.host);
    if (!target) continue;
    for (const subset of body.spec.subsets ?? []) {
      const labels: Labels = { ...target.selector, ...(subset.labels ?? {}) };
      if (ns.podsSelectedBy(labels).length === 0)
        ns.report(
          m,
          `subset ${subset.name}: labels ${showLabels(subset.labels ?? {})} select none of Service ${target.manifest.name}'s pods (${target.pods.map((w) => `${objectName(w.manifest)} ${showLabels(w.labels)}`).join('; ') || 'it selects none'})`,
        );
    }
  }
}

/** One connection hop into ecadraft, with the idle timeout Envoy keeps on it. */
export interface Hop {
  manifest: Manifest;
  /** What the hop is, for messages and test names. */
  description: string;
  idleTimeoutMs: number | undefined;
  /** The objects that set it; empty when nothing does. */
  setBy: string[];
}

/**
 * Every hop Envoy opens towards ecadraft: from a gateway, a sidecar or a
 * waypoint to each destination a route sends to, and (with sidecars) inside
 * each pod from the sidecar to the app.
 */
export function idleTimeoutHops(ns: Namespace): Hop[] {
  const hops: Hop[] = distinctDestinations(ns).map((d) => {
    const { policy, from } = effectivePolicy(ns, d.service, d.subset);
    return {
      manifest: d.manifest,
      description: `${d.where}: ${describe(d)}`,
      idleTimeoutMs: durationMs(policy.connectionPool?.http?.idleTimeout),
      setBy: from.map(objectName),
    };
  });
  if (ns.options.dataplane !== 'sidecar') return hops;
  for (const w of ns.workloads) {
    const inbound = inboundPool(ns, w);
    // Unpinned among several Services: checkInboundPinning says so.
    if (!inbound && ns.servicesOf(w).length !== 1) continue;
    hops.push({
      manifest: w.manifest,
      description: 'inside its pods, from the sidecar to the app',
      idleTimeoutMs: durationMs(inbound?.pool?.http?.idleTimeout),
      setBy: inbound ? [objectName(inbound.from)] : [],
    });
  }
  return hops;
}

/**
 * Where the sidecar's connections to the app take their settings from: a
 * Sidecar selecting the pods, or else the DestinationRule of the pods'
 * Service. With several Services Istio picks one of them arbitrarily, so
 * only a Sidecar pins it (undefined then).
 */
function inboundPool(ns: Namespace, w: Workload) {
  const port = w.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'http')?.containerPort;
  for (const { manifest, body } of sidecars(ns)) {
    if (!selects(body.spec?.workloadSelector?.labels ?? {}, w.labels)) continue;
    const perPort = body.spec?.ingress?.find((i) => i.port.number === port)?.connectionPool;
    const pool = perPort ?? body.spec?.inboundConnectionPool;
    if (pool) return { pool, from: manifest };
  }
  const services = ns.servicesOf(w);
  const only = services.length === 1 ? services[0] : undefined;
  if (!only) return undefined;
  const { policy, from } = effectivePolicy(ns, only);
  const setBy = from[0];
  return setBy ? { pool: policy.connectionPool, from: setBy } : undefined;
}

/** Envoy closes idle connections before the app does, on every hop: the app closing one as Envoy reuses it resets that request. */
export function checkIdleTimeouts(ns: Namespace): void {
  const keepAlive = ns.app.keepAliveTimeoutMs;
  for (const hop of idleTimeoutHops(ns)) {
    if (hop.idleTimeoutMs === undefined)
      ns.report(
        hop.manifest,
        `${hop.description}: idle connections are kept for ${ENVOY_DEFAULT_IDLE} (no connectionPool.http.idleTimeout${hop.setBy.length ? ` in ${hop.setBy.join(', ')}` : ''}), longer than the app's ${keepAlive / 1000} s keep-alive`,
      );
    else if (hop.idleTimeoutMs >= keepAlive)
      ns.report(
        hop.manifest,
        `${hop.description}: idleTimeout ${hop.idleTimeoutMs / 1000} s is not below the app's ${keepAlive / 1000} s keep-alive, so the app may close a connection just as Envoy reuses it`,
      );
  }
}

/** With sidecars, pods in several Services need a Sidecar to pin their inbound side. */
export function checkInboundPinning(ns: Namespace): void {
  if (ns.options.dataplane !== 'sidecar') return;
  for (const w of ns.workloads) {
    const services = ns.servicesOf(w);
    if (services.length > 1 && !inboundPool(ns, w))
      ns.report(
        w.manifest,
        `its pods belong to Services ${services.map((s) => s.manifest.name).join(', ')}, and Istio takes the sidecar's connections to the app from the DestinationRule of one of them, picked arbitrarily; pin them with a Sidecar's inboundConnectionPool`,
      );
  }
  for (const { manifest, body } of sidecars(ns)) {
    if (ns.podsSelectedBy(body.spec?.workloadSelector?.labels ?? {}).length === 0)
      ns.report(
        manifest,
        `workloadSelector ${showLabels(body.spec?.workloadSelector?.labels ?? {})} selects no Deployment's or Rollout's pods`,
      );
  }
}

/**
 * Outlier detection where a route sends traffic to ecadraft's pods: able to
 * take one bad pod out, never all of a destination's pods (Envoy would then
 * answer that destination's whole share with 503 "no healthy upstream"; the
 * weights do not move). Where the endpoints are a waypoint instead, none: it
 * would eject the waypoint for the app's 5xx.
 */
export function checkOutlierDetection(ns: Namespace): void {
  for (const d of distinctDestinations(ns)) {
    const where = `${d.where}: ${describe(d)}`;
    const { policy, subsetLabels } = effectivePolicy(ns, d.service, d.subset);
    const outlier = policy.outlierDetection;
    const waypoint = ns.waypointOf(d.service);
    if (waypoint) {
      if (outlier)
        ns.report(
          d.manifest,
          `${where}: its endpoints are the waypoint ${waypoint.name}, not the pods; outlier detection here ejects the waypoint when the app answers 5xx (set it on the Services the waypoint routes to)`,
        );
      continue;
    }
    if (!outlier) {
      ns.report(d.manifest, `${where}: no outlier detection, so a pod answering 5xx keeps its share of the traffic`);
      continue;
    }
    const pods = ns.podsSelectedBy({ ...d.service.selector, ...subsetLabels });
    if (pods.length === 0) continue;
    const n = Math.min(...pods.map((w) => w.minReplicas));
    const percent = outlier.maxEjectionPercent ?? ENVOY_DEFAULT_MAX_EJECTION;
    // Envoy ejects one more host while 100 * ejected / hosts <= max_ejection_percent.
    const ejectable = Math.floor((percent * n) / 100);
    const shown = `maxEjectionPercent ${outlier.maxEjectionPercent ?? `unset (Envoy's ${ENVOY_DEFAULT_MAX_EJECTION})`}`;
    if (ejectable >= n)
      ns.report(
        d.manifest,
        `${where}: ${shown} lets Envoy eject all ${n} pods, and it then answers this destination's whole share with 503 "no healthy upstream" (the weights do not move); keep it below 100`,
      );
    else if (ejectable === 0)
      ns.report(
        d.manifest,
        `${where}: ${shown} lets Envoy eject none of the ${n} pods, so outlier detection never acts; allow at least ${Math.ceil(100 / n)}`,
      );
  }
}
