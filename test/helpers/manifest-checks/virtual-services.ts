// Istio's VirtualServices: they bind gateways that exist and serve their
// hosts, send to Services and subsets that exist, with weights that add up,
// and bind the mesh only for the Service's own host.
import type { Manifest } from '../manifests.ts';
import type { Namespace } from './namespace.ts';
import { checkWeights, ISTIO, type VsDestination, virtualServices, vsGateways } from './routing.ts';

interface IstioGatewaySpec {
  selector?: Record<string, string>;
  servers?: Array<{ hosts?: string[] }>;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (pattern.startsWith('*.'))
    return host.endsWith(pattern.slice(1)) || (host.startsWith('*.') && host.endsWith(pattern.slice(1)));
  return false;
}

export function checkVirtualServices(ns: Namespace): void {
  const gateways = new Map(
    ns.ofKind<{ spec?: IstioGatewaySpec }>(ISTIO, 'Gateway').map(({ manifest, body }) => [manifest.name, body]),
  );
  for (const { manifest: m, body } of virtualServices(ns)) {
    const hosts = body.spec?.hosts ?? [];
    for (const g of vsGateways(body.spec)) {
      if (g === 'mesh') {
        // Sidecars match a mesh route by the host they call: a wildcard
        // captures every call they make on the port.
        for (const h of hosts.filter((h) => h.includes('*')))
          ns.report(
            m,
            `host ${h} with the mesh gateway applies these routes to every call any sidecar makes; bind mesh routes to the Service's host`,
          );
        continue;
      }
      const gateway = gateways.get(g);
      if (!gateway) {
        ns.report(
          m,
          `gateway ${g} is not a Gateway defined here (Istio Gateways: ${[...gateways.keys()].join(', ') || 'none'})`,
        );
        continue;
      }
      const served = (gateway.spec?.servers ?? []).flatMap((s) => s.hosts ?? []).map((h) => h.replace(/^[^/]*\//, ''));
      for (const h of hosts) {
        if (!served.some((p) => hostMatches(p, h)))
          ns.report(m, `host ${h} is not served by gateway ${g} (hosts: ${served.join(', ')})`);
      }
    }
    (body.spec?.http ?? []).forEach((rule, i) => {
      const where = `spec.http[${i}]`;
      const routes = rule.route ?? [];
      routes.forEach((r, j) => {
        checkDestination(ns, m, `${where}.route[${j}].destination`, r.destination);
      });
      if (rule.mirror) checkDestination(ns, m, `${where}.mirror`, rule.mirror);
      checkWeights(
        routes.map((r) => r.weight),
        `${where}.route`,
        (message) => ns.report(m, message),
      );
    });
  }
}

/** The subsets each Service has, over all its DestinationRules. */
function subsetsOf(ns: Namespace, service: string): Set<string> {
  const names = new Set<string>();
  for (const { body } of ns.ofKind<{ spec: { host: string; subsets?: Array<{ name: string }> } }>(
    ISTIO,
    'DestinationRule',
  ))
    if (ns.lookupHost(body.spec.host)?.manifest.name === service)
      for (const s of body.spec.subsets ?? []) names.add(s.name);
  return names;
}

function checkDestination(ns: Namespace, m: Manifest, where: string, destination: VsDestination): void {
  const target = ns.resolveHost(m, where, destination.host, destination.port?.number);
  if (!target || destination.subset === undefined) return;
  const subsets = subsetsOf(ns, target.manifest.name);
  if (!subsets.has(destination.subset))
    ns.report(
      m,
      `${where}: subset ${destination.subset} is not defined for host ${destination.host} in any DestinationRule (subsets: ${[...subsets].join(', ') || 'none'})`,
    );
}
