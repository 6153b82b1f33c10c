// Callers inside the mesh get the same split as ingress traffic, at every
// step: each file that routes the gateway's traffic to ecadraft also routes
// the callers of the Service, with the same rules. Without that, sidecars
// calling http://ecadraft reach v1 and v2 by pod count.
import { type Manifest, objectName } from '../manifests.ts';
import { type Namespace, stableJson } from './namespace.ts';
import { httpRoutes, isGatewayParent, isServiceParent, virtualServices, vsGateways } from './routing.ts';

export function checkMeshRouting(ns: Namespace): void {
  checkVirtualServiceTwins(ns);
  checkHttpRouteTwins(ns);
}

const sameFile = (a: Manifest) => (b: { manifest: Manifest }) => b.manifest.file === a.file;

function checkVirtualServiceTwins(ns: Namespace): void {
  const all = virtualServices(ns);
  for (const { manifest: m, body } of all) {
    const gateways = vsGateways(body.spec);
    if (!gateways.some((g) => g !== 'mesh') || gateways.includes('mesh')) continue;
    const services = new Set(
      (body.spec?.http ?? []).flatMap((r) =>
        (r.route ?? []).flatMap((d) => ns.lookupHost(d.destination.host)?.manifest.name ?? []),
      ),
    );
    if (services.size === 0) continue;
    const twins = all.filter(sameFile(m)).filter((v) => vsGateways(v.body.spec).includes('mesh'));
    const twin = twins.find((v) =>
      [...services].every((s) => (v.body.spec?.hosts ?? []).some((h) => ns.lookupHost(h)?.manifest.name === s)),
    );
    if (!twin) {
      ns.report(
        m,
        `routes ingress traffic to ${[...services].join(', ')}, but no VirtualService in this file binds the mesh gateway for ${[...services].join(', ')}, so callers inside the mesh reach the versions by pod count`,
      );
      continue;
    }
    if (stableJson(twin.body.spec?.http) !== stableJson(body.spec?.http))
      ns.report(
        twin.manifest,
        `routes callers inside the mesh differently from ${objectName(m)} routes ingress traffic; both must split the same way`,
      );
  }
}

function checkHttpRouteTwins(ns: Namespace): void {
  const all = httpRoutes(ns);
  for (const { manifest: m, body } of all) {
    const parents = body.spec.parentRefs ?? [];
    if (!parents.some(isGatewayParent) || parents.some(isServiceParent)) continue;
    const backends = [
      ...new Set(
        (body.spec.rules ?? []).flatMap((r) => (r.backendRefs ?? []).flatMap((b) => ns.services.get(b.name) ?? [])),
      ),
    ];
    // A Service with a waypoint is split by the waypoint's own route (ambient).
    if (backends.length === 0 || backends.every((s) => ns.waypointOf(s))) continue;
    const backendPods = new Set(backends.flatMap((s) => s.pods));
    const twin = all
      .filter(sameFile(m))
      .find((r) =>
        (r.body.spec.parentRefs ?? []).some(
          (p) =>
            isServiceParent(p) && [...backendPods].every((w) => ns.services.get(p.name)?.pods.includes(w) ?? false),
        ),
      );
    if (!twin) {
      ns.report(
        m,
        `routes ingress traffic to ${backends.map((s) => s.manifest.name).join(', ')}, but no HTTPRoute in this file is attached to a Service that callers inside the mesh call (one whose pods include these), so they reach the versions by pod count`,
      );
      continue;
    }
    if (stableJson(twin.body.spec.rules) !== stableJson(body.spec.rules))
      ns.report(
        twin.manifest,
        `routes callers inside the mesh differently from ${objectName(m)} routes ingress traffic; both must split the same way`,
      );
  }
}
