// The manifests of one variant, taken together as the contents of one
// namespace, indexed the way the checks look things up: pods by labels (a
// Deployment's and an Argo Rollouts Rollout's alike), Services by host,
// gateways by name. Only schema-valid manifests are read, so the checks can
// trust the shapes the schemas promise.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import { type Manifest, objectName, type Problem } from '../manifests.ts';

/** What the checks need to know about the service; the tests derive it from src/. */
export interface AppFacts {
  /** package.json's version: the image tag the manifests must use. */
  packageVersion: string;
  /** How long the app keeps an idle keep-alive connection open. */
  keepAliveTimeoutMs: number;
  /**
   * The settings the app would run with in a container with this env; throws
   * with the app's own message when the app would refuse to start.
   */
  config(env: Record<string, string>): { port: number; shutdownDelayMs: number; shutdownTimeoutMs: number };
  /** Whether a GET of this path, on the listening app, answers 200. */
  serves(urlPath: string): Promise<boolean>;
}

/**
 * How the pods join the mesh: with a sidecar each, or in ambient mode
 * (ztunnel on each node, waypoints for HTTP). A namespace label decides it on
 * a cluster, so the manifests cannot say; the caller does.
 */
export type Dataplane = 'sidecar' | 'ambient';

export interface CheckOptions {
  dataplane: Dataplane;
}

export type Labels = Record<string, string>;

export interface LabelSelector {
  matchLabels?: Labels | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

export function selects(selector: LabelSelector | Labels, labels: Labels): boolean {
  const s: LabelSelector =
    'matchLabels' in selector || 'matchExpressions' in selector
      ? (selector as LabelSelector)
      : { matchLabels: selector as Labels };
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export const isEmptySelector = (selector: LabelSelector | null | undefined): boolean =>
  !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);

export const showLabels = (labels: Labels): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '(none)';

export function showSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) parts.push(`${e.key} ${e.operator} (${(e.values ?? []).join(',')})`);
  return parts.join(',') || '(everything)';
}

export function isZero(value: number | string | undefined | null): boolean {
  return value === 0 || value === '0' || value === '0%';
}

/** `60s`, `1.5m`, `500ms` -> milliseconds; undefined for anything else. */
export function durationMs(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
  if (!match) return undefined;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * scale;
}

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** In-cluster short name of a Service host: `ecadraft`, `ecadraft.ns`, `ecadraft.ns.svc.cluster.local`. */
export function serviceNameOfHost(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length <= 2 || host.endsWith('.svc') || host.endsWith('.svc.cluster.local')) return parts[0];
  return undefined;
}

export type Container = NonNullable<NonNullable<IDeployment['spec']>['template']['spec']>['containers'][number];

/**
 * What makes pods: a Deployment, or an Argo Rollouts Rollout, whose spec has
 * the same selector, replicas and pod template (a Rollout's template is
 * optional: it may take it from a Deployment by workloadRef instead).
 */
const WORKLOAD_KINDS = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' },
] as const;

export type WorkloadSpec = Omit<NonNullable<IDeployment['spec']>, 'template' | 'strategy'> & {
  template?: NonNullable<IDeployment['spec']>['template'];
  /** A Deployment's; a Rollout's strategy is read by the Rollout checks. */
  strategy?: NonNullable<IDeployment['spec']>['strategy'];
};

export interface Workload {
  manifest: Manifest;
  spec: WorkloadSpec | undefined;
  labels: Labels;
  containers: Container[];
  /** The replicas, or the HPA's minimum when one scales it: the fewest pods there will be. */
  minReplicas: number;
}

export interface ServiceInfo {
  manifest: Manifest;
  service: IService;
  selector: Labels;
  pods: Workload[];
}

/** Label with which a Service sends its calls through a waypoint, in ambient mode. */
export const USE_WAYPOINT = 'istio.io/use-waypoint';
/** Label with which ingress gateways send to a Service's waypoint rather than to its pods. */
export const INGRESS_USE_WAYPOINT = 'istio.io/ingress-use-waypoint';
/** Istio's GatewayClass for waypoints; its deployments take the Gateway's name, without a suffix. */
export const WAYPOINT_CLASS = 'istio-waypoint';

export class Namespace {
  readonly problems: Problem[] = [];
  /** The schema-valid manifests, in file order. */
  readonly manifests: Manifest[];
  readonly workloads: Workload[] = [];
  /** By name; the first definition wins (the others must be equal, see checkSameDefinitions). */
  readonly services = new Map<string, ServiceInfo>();

  constructor(
    all: readonly Manifest[],
    readonly app: AppFacts,
    readonly options: CheckOptions,
  ) {
    this.manifests = all.filter((m) => m.valid);
    const seen = new Set<string>();
    for (const { apiVersion, kind } of WORKLOAD_KINDS) {
      for (const { manifest, body } of this.ofKind<{ spec?: WorkloadSpec }>(apiVersion, kind)) {
        if (seen.has(objectName(manifest))) continue;
        seen.add(objectName(manifest));
        const template = body.spec?.template;
        this.workloads.push({
          manifest,
          spec: body.spec,
          labels: { ...(template?.metadata?.labels ?? {}) },
          containers: template?.spec?.containers ?? [],
          minReplicas: this.autoscaledMinimum(manifest) ?? body.spec?.replicas ?? 1,
        });
      }
    }
    for (const { manifest, body } of this.ofKind<IService>('v1', 'Service')) {
      if (this.services.has(manifest.name)) continue;
      const selector = body.spec?.selector ?? {};
      const pods = Object.keys(selector).length === 0 ? [] : this.podsSelectedBy(selector);
      this.services.set(manifest.name, { manifest, service: body, selector, pods });
    }
  }

  report(m: Manifest, message: string): void {
    this.problems.push({ file: m.file, object: objectName(m), message });
  }

  ofKind<T>(apiVersion: string, kind: string): Array<{ manifest: Manifest; body: T }> {
    return this.manifests
      .filter((m) => m.apiVersion === apiVersion && m.kind === kind)
      .map((manifest) => ({ manifest, body: manifest.body as T }));
  }

  podsSelectedBy(selector: LabelSelector | Labels): Workload[] {
    return this.workloads.filter((w) => selects(selector, w.labels));
  }

  /** The Services whose selector picks these pods: the ones Istio may take the pods' inbound settings from. */
  servicesOf(w: Workload): ServiceInfo[] {
    return [...this.services.values()].filter((s) => s.pods.includes(w));
  }

  /** The Service a host names, if defined here; silent, for checks that do not own the reference. */
  lookupHost(host: string): ServiceInfo | undefined {
    const name = serviceNameOfHost(host);
    return name === undefined ? undefined : this.services.get(name);
  }

  /** The Service a host names, reporting a host or port that is not there. */
  resolveHost(m: Manifest, what: string, host: string, port?: number): ServiceInfo | undefined {
    const s = this.lookupHost(host);
    if (!s) {
      this.report(m, `${what}: host ${host} is not a Service defined here`);
      return undefined;
    }
    if (port !== undefined && !(s.service.spec?.ports ?? []).some((p) => p.port === port))
      this.report(m, `${what}: Service ${s.manifest.name} has no port ${port}`);
    return s;
  }

  /** The waypoint Gateway defined here that the Service names, in ambient mode. */
  waypointOf(s: ServiceInfo): Manifest | undefined {
    if (this.options.dataplane !== 'ambient') return undefined;
    const name = s.service.metadata?.labels?.[USE_WAYPOINT];
    if (!name) return undefined;
    return this.manifests.find(
      (m) =>
        m.apiVersion === 'gateway.networking.k8s.io/v1' &&
        m.kind === 'Gateway' &&
        m.name === name &&
        (m.body as { spec?: { gatewayClassName?: string } }).spec?.gatewayClassName === WAYPOINT_CLASS,
    );
  }

  private autoscaledMinimum(workload: Manifest): number | undefined {
    for (const m of this.manifests) {
      if (m.apiVersion !== 'autoscaling/v2' || m.kind !== 'HorizontalPodAutoscaler') continue;
      const spec = (m.body as { spec?: { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number } })
        .spec;
      if (spec?.scaleTargetRef?.kind === workload.kind && spec.scaleTargetRef.name === workload.name)
        return spec.minReplicas ?? 1;
    }
    return undefined;
  }
}
