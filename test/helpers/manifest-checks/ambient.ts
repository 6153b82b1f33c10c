// Ambient mode: waypoints that Istio will deploy, Services bound to them, and
// an ingress that goes through the waypoint rather than around it.
import type { Namespace } from './namespace.ts';
import { INGRESS_USE_WAYPOINT, USE_WAYPOINT, WAYPOINT_CLASS } from './namespace.ts';
import { GATEWAY_API, httpRoutes, isGatewayParent, isServiceParent } from './routing.ts';

interface GatewaySpec {
  gatewayClassName: string;
  listeners: Array<{ name: string; port: number; protocol: string }>;
}

/** Istio accepts a waypoint's listener only on the HBONE port, and binds Services to waypoints for service traffic. */
export function checkWaypoints(ns: Namespace): void {
  for (const { manifest: m, body } of ns.ofKind<{ spec: GatewaySpec }>(GATEWAY_API, 'Gateway')) {
    if (body.spec.gatewayClassName !== WAYPOINT_CLASS) continue;
    for (const l of body.spec.listeners)
      if (l.port !== 15008 || l.protocol !== 'HBONE')
        ns.report(
          m,
          `listener ${l.name}: a waypoint listens on port 15008 with protocol HBONE, not ${l.port} ${l.protocol}`,
        );
    const trafficFor = (m.body.metadata as { labels?: Record<string, string> }).labels?.['istio.io/waypoint-for'];
    if (trafficFor !== undefined && trafficFor !== 'service' && trafficFor !== 'all')
      ns.report(m, `label istio.io/waypoint-for ${trafficFor} does not take service traffic, so no Service can use it`);
  }
}

/**
 * In ambient mode, the Services' calls reach the waypoint they name, ingress
 * included, and the waypoint has a route for each Service an ingress sends to.
 */
export function checkWaypointBindings(ns: Namespace): void {
  if (ns.options.dataplane !== 'ambient') return;
  for (const s of ns.services.values()) {
    const name = s.service.metadata?.labels?.[USE_WAYPOINT];
    if (name !== undefined && name !== 'none' && !ns.waypointOf(s))
      ns.report(
        s.manifest,
        `label ${USE_WAYPOINT} names ${name}, which is not a waypoint Gateway defined here, so calls skip the waypoint and its routes and policy`,
      );
  }
  const routed = new Set(
    httpRoutes(ns).flatMap(({ body }) => (body.spec.parentRefs ?? []).filter(isServiceParent).map((p) => p.name)),
  );
  for (const { manifest: m, body } of httpRoutes(ns)) {
    if (!(body.spec.parentRefs ?? []).some(isGatewayParent)) continue;
    (body.spec.rules ?? []).forEach((rule, i) => {
      (rule.backendRefs ?? []).forEach((b, j) => {
        const s = ns.services.get(b.name);
        if (!s || !ns.waypointOf(s)) return;
        const where = `spec.rules[${i}].backendRefs[${j}]`;
        if (s.service.metadata?.labels?.[INGRESS_USE_WAYPOINT] !== 'true')
          ns.report(
            m,
            `${where}: Service ${s.manifest.name} is not labelled ${INGRESS_USE_WAYPOINT}: "true", so the gateway sends to its pods directly, past the waypoint's routes and policy`,
          );
        if (!routed.has(s.manifest.name))
          ns.report(
            m,
            `${where}: no HTTPRoute is attached to Service ${s.manifest.name}, so its waypoint sends to its pods by count`,
          );
      });
    });
  }
}
