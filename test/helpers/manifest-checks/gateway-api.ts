// Gateway API HTTPRoutes: attached to a Gateway defined here (ingress) or to a
// Service (GAMMA, for callers inside the mesh), sending to Services with
// weights that add up.
import type { Manifest } from '../manifests.ts';
import type { Namespace } from './namespace.ts';
import {
  type BackendRef,
  checkWeights,
  GATEWAY_API,
  httpRoutes,
  isGatewayParent,
  isServiceParent,
  type ParentRef,
} from './routing.ts';

interface GatewaySpec {
  gatewayClassName: string;
  listeners: Array<{ name: string; port: number; protocol: string }>;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];

export function checkHttpRoutes(ns: Namespace): void {
  const gateways = new Map(
    ns.ofKind<{ spec: GatewaySpec }>(GATEWAY_API, 'Gateway').map(({ manifest, body }) => [manifest.name, body]),
  );
  for (const { manifest: m, body } of httpRoutes(ns)) {
    (body.spec.parentRefs ?? []).forEach((ref, i) => {
      const where = `spec.parentRefs[${i}]`;
      if (isServiceParent(ref)) checkServiceParent(ns, m, where, ref);
      else if (isGatewayParent(ref)) {
        const gateway = gateways.get(ref.name);
        if (!gateway)
          ns.report(
            m,
            `${where}: Gateway ${ref.name} is not defined here (Gateways: ${[...gateways.keys()].join(', ') || 'none'})`,
          );
        else if (ref.sectionName !== undefined && !gateway.spec.listeners.some((l) => l.name === ref.sectionName))
          ns.report(m, `${where}: Gateway ${ref.name} has no listener ${ref.sectionName}`);
      }
    });
    (body.spec.rules ?? []).forEach((rule, i) => {
      const where = `spec.rules[${i}]`;
      const backends = rule.backendRefs ?? [];
      backends.forEach((b, j) => {
        checkBackend(ns, m, `${where}.backendRefs[${j}]`, b);
      });
      (rule.filters ?? []).forEach((f, j) => {
        if (f.requestMirror)
          checkBackend(ns, m, `${where}.filters[${j}].requestMirror.backendRef`, f.requestMirror.backendRef);
      });
      checkWeights(
        backends.map((b) => b.weight),
        `${where}.backendRefs`,
        (message) => ns.report(m, message),
      );
    });
  }
}

/**
 * A route attached to a Service applies to its callers: sidecars apply it
 * themselves; in ambient mode only a waypoint can, so the Service must use one.
 */
function checkServiceParent(ns: Namespace, m: Manifest, where: string, ref: ParentRef): void {
  const parent = ns.resolveHost(m, where, ref.name, ref.port);
  if (!parent || ns.options.dataplane !== 'ambient') return;
  if (!ns.waypointOf(parent))
    ns.report(
      m,
      `${where}: Service ${parent.manifest.name} uses no waypoint defined here (label istio.io/use-waypoint), so in ambient mode nothing applies this route`,
    );
}

function checkBackend(ns: Namespace, m: Manifest, where: string, ref: BackendRef): void {
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') return;
  if (ref.port === undefined) ns.report(m, `${where}: a Service backend needs a port`);
  ns.resolveHost(m, where, ref.name, ref.port);
}

/**
 * Gateway API Gateways: a class Istio serves, and a Service type Istio knows
 * when the annotation sets one (ClusterIP is how a Gateway gets Programmed
 * where no load balancer will ever give it an address).
 */
export function checkGateways(ns: Namespace): void {
  for (const { manifest: m, body } of ns.ofKind<{ spec: GatewaySpec }>(GATEWAY_API, 'Gateway')) {
    if (!['istio', 'istio-waypoint'].includes(body.spec.gatewayClassName))
      ns.report(m, `gatewayClassName ${body.spec.gatewayClassName} is not one Istio deploys (istio, istio-waypoint)`);
    const type = (m.body.metadata as { annotations?: Record<string, string> }).annotations?.[
      'networking.istio.io/service-type'
    ];
    if (type !== undefined && !SERVICE_TYPES.includes(type))
      ns.report(
        m,
        `annotation networking.istio.io/service-type ${type} is not a Service type (${SERVICE_TYPES.join(', ')})`,
      );
  }
}
