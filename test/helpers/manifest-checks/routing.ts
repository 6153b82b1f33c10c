// The routes of a namespace in one shape, whichever API wrote them: what they
// bind (an ingress gateway, or the callers of a Service inside the mesh) and
// where they send traffic.
import type { Manifest } from '../manifests.ts';
import type { Namespace, ServiceInfo } from './namespace.ts';

export interface VsDestination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

export interface VsHttpRoute {
  match?: unknown[];
  route?: Array<{ destination: VsDestination; weight?: number }>;
  mirror?: VsDestination;
}

export interface VsSpec {
  hosts?: string[];
  gateways?: string[];
  http?: VsHttpRoute[];
}

export interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
  group?: string;
  kind?: string;
}

export interface ParentRef {
  name: string;
  group?: string;
  kind?: string;
  port?: number;
  sectionName?: string;
}

export interface HttpRouteRule {
  matches?: unknown[];
  filters?: Array<{ type: string; requestMirror?: { backendRef: BackendRef } }>;
  backendRefs?: BackendRef[];
}

export interface HttpRouteSpec {
  parentRefs?: ParentRef[];
  rules?: HttpRouteRule[];
}

export const ISTIO = 'networking.istio.io/v1';
export const GATEWAY_API = 'gateway.networking.k8s.io/v1';

export const virtualServices = (ns: Namespace) => ns.ofKind<{ spec?: VsSpec }>(ISTIO, 'VirtualService');
export const httpRoutes = (ns: Namespace) => ns.ofKind<{ spec: HttpRouteSpec }>(GATEWAY_API, 'HTTPRoute');

/** Without `gateways`, a VirtualService applies to the mesh (the sidecars) only. */
export const vsGateways = (spec: VsSpec | undefined): string[] => spec?.gateways ?? ['mesh'];

export const isGatewayParent = (ref: ParentRef): boolean =>
  (ref.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' && (ref.kind ?? 'Gateway') === 'Gateway';

export const isServiceParent = (ref: ParentRef): boolean => (ref.group ?? '') === '' && ref.kind === 'Service';

const isServiceBackend = (ref: BackendRef): boolean =>
  (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';

/** A route's destination that is a Service defined here. */
export interface Destination {
  manifest: Manifest;
  /** Where in the manifest, for messages: `spec.http[0].route[1].destination`. */
  where: string;
  service: ServiceInfo;
  subset?: string;
  /** Whether an ingress gateway sends here (rather than sidecars or a waypoint only). */
  fromIngress: boolean;
}

/** Every destination a route sends traffic to (mirrors included); references to nothing are left out. */
export function destinations(ns: Namespace): Destination[] {
  const out: Destination[] = [];
  const add = (manifest: Manifest, where: string, host: string, fromIngress: boolean, subset?: string): void => {
    const service = ns.lookupHost(host);
    if (service) out.push({ manifest, where, service, fromIngress, ...(subset === undefined ? {} : { subset }) });
  };
  for (const { manifest, body } of virtualServices(ns)) {
    const fromIngress = vsGateways(body.spec).some((g) => g !== 'mesh');
    (body.spec?.http ?? []).forEach((rule, i) => {
      (rule.route ?? []).forEach((r, j) => {
        add(manifest, `spec.http[${i}].route[${j}].destination`, r.destination.host, fromIngress, r.destination.subset);
      });
      if (rule.mirror) add(manifest, `spec.http[${i}].mirror`, rule.mirror.host, fromIngress, rule.mirror.subset);
    });
  }
  for (const { manifest, body } of httpRoutes(ns)) {
    const fromIngress = (body.spec.parentRefs ?? []).some(isGatewayParent);
    (body.spec.rules ?? []).forEach((rule, i) => {
      (rule.backendRefs ?? []).forEach((b, j) => {
        if (isServiceBackend(b)) add(manifest, `spec.rules[${i}].backendRefs[${j}]`, b.name, fromIngress);
      });
      (rule.filters ?? []).forEach((f, j) => {
        const ref = f.requestMirror?.backendRef;
        if (ref && isServiceBackend(ref))
          add(manifest, `spec.rules[${i}].filters[${j}].requestMirror.backendRef`, ref.name, fromIngress);
      });
    });
  }
  return out;
}

export function checkWeights(
  weights: Array<number | null | undefined>,
  where: string,
  report: (message: string) => void,
): void {
  if (weights.length === 0) return;
  // A single destination without a weight gets all the traffic.
  if (weights.length === 1 && (weights[0] === undefined || weights[0] === null)) return;
  if (weights.some((w) => w === undefined || w === null)) {
    report(`${where}: every destination needs a weight when there are several`);
    return;
  }
  const sum = weights.reduce<number>((a, w) => a + (w ?? 0), 0);
  if (sum !== 100) report(`${where}: weights ${weights.join(' + ')} add up to ${sum}, not 100`);
}

/**
 * Per rule, in order, the weight per destination subset (VirtualService) or
 * Service (HTTPRoute); a lone destination without a weight gets 100.
 */
export function routeWeights(m: Manifest): Array<Record<string, number>> {
  const rule = (targets: Array<[string, number | null | undefined]>): Record<string, number> => {
    const weights: Record<string, number> = {};
    for (const [key, weight] of targets)
      weights[key] = (weights[key] ?? 0) + (weight ?? (targets.length === 1 ? 100 : 0));
    return weights;
  };
  if (m.kind === 'VirtualService') {
    return ((m.body as { spec?: VsSpec }).spec?.http ?? []).map((r) =>
      rule((r.route ?? []).map((d) => [d.destination.subset ?? d.destination.host, d.weight])),
    );
  }
  if (m.kind === 'HTTPRoute') {
    return ((m.body as { spec: HttpRouteSpec }).spec.rules ?? []).map((r) =>
      rule((r.backendRefs ?? []).map((b) => [b.name, b.weight])),
    );
  }
  return [];
}

/** A workload identity as AuthorizationPolicy `serviceAccounts` name it; no namespace means the policy's. */
export interface Account {
  namespace?: string;
  name: string;
}

export const showAccount = (a: Account): string => (a.namespace ? `${a.namespace}/${a.name}` : a.name);

/** The ingress gateway's identities as `istioctl install` and the istio/gateway Helm chart (release istio-ingressgateway) create it. */
export const INGRESS_GATEWAY_ACCOUNTS: readonly Account[] = [
  { namespace: 'istio-system', name: 'istio-ingressgateway-service-account' },
  { namespace: 'istio-system', name: 'istio-ingressgateway' },
];

/** A gateway through which traffic from outside reaches Services defined here. */
export interface IngressGateway {
  manifest: Manifest;
  /** Who it runs as; undefined when that cannot be told from the manifests. */
  accounts: readonly Account[] | undefined;
  /** The Services its routes send to. */
  services: Set<string>;
}

/**
 * The gateways the routes bind, with their identities: Istio's ingress
 * gateway for an Istio Gateway selecting `istio: ingressgateway`, and for a
 * Gateway API Gateway the deployment Istio creates, named
 * `<name>-<gatewayClassName>`.
 */
export function ingressGateways(ns: Namespace): IngressGateway[] {
  const byName = new Map<string, IngressGateway>();
  const entry = (m: Manifest, accounts: readonly Account[] | undefined): IngressGateway => {
    const key = `${m.apiVersion} ${m.name}`;
    let g = byName.get(key);
    if (!g) {
      g = { manifest: m, accounts, services: new Set() };
      byName.set(key, g);
    }
    return g;
  };
  const istioGateways = ns.ofKind<{ spec?: { selector?: Record<string, string> } }>(ISTIO, 'Gateway');
  for (const { body } of virtualServices(ns)) {
    for (const name of vsGateways(body.spec)) {
      const gateway = istioGateways.find((g) => g.manifest.name === name);
      if (!gateway) continue;
      const ingress = gateway.body.spec?.selector?.istio === 'ingressgateway';
      const g = entry(gateway.manifest, ingress ? INGRESS_GATEWAY_ACCOUNTS : undefined);
      for (const rule of body.spec?.http ?? [])
        for (const r of rule.route ?? []) {
          const s = ns.lookupHost(r.destination.host);
          if (s) g.services.add(s.manifest.name);
        }
    }
  }
  const k8sGateways = ns.ofKind<{ spec: { gatewayClassName: string } }>(GATEWAY_API, 'Gateway');
  for (const { body } of httpRoutes(ns)) {
    for (const ref of (body.spec.parentRefs ?? []).filter(isGatewayParent)) {
      const gateway = k8sGateways.find((g) => g.manifest.name === ref.name);
      if (gateway?.body.spec.gatewayClassName !== 'istio') continue;
      const g = entry(gateway.manifest, [{ name: `${gateway.manifest.name}-${gateway.body.spec.gatewayClassName}` }]);
      for (const rule of body.spec.rules ?? [])
        for (const b of rule.backendRefs ?? [])
          if (isServiceBackend(b) && ns.services.has(b.name)) g.services.add(b.name);
    }
  }
  return [...byName.values()];
}
