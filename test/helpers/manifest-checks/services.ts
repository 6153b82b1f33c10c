// Services: they select pods, on ports Istio can read the protocol of.
import { objectName } from '../manifests.ts';
import type { Namespace } from './namespace.ts';
import { showLabels } from './namespace.ts';

// Istio derives a port's protocol from `<protocol>[-<suffix>]` or appProtocol.
const ISTIO_PROTOCOLS = ['http', 'http2', 'https', 'grpc', 'grpc-web', 'tcp', 'tls', 'mongo', 'mysql', 'redis', 'udp'];

export function checkServices(ns: Namespace): void {
  for (const { manifest: m, service, selector, pods } of ns.services.values()) {
    if (Object.keys(selector).length === 0) {
      ns.report(m, 'has no selector, so no pods back it');
      continue;
    }
    if (pods.length === 0) ns.report(m, `selector ${showLabels(selector)} selects no Deployment's or Rollout's pods`);
    for (const port of service.spec?.ports ?? []) {
      const label = `port ${port.name ?? port.port}`;
      const protocol = port.appProtocol ?? port.name ?? '';
      if (!ISTIO_PROTOCOLS.some((p) => protocol === p || protocol.startsWith(`${p}-`)))
        ns.report(
          m,
          `${label}: name "${port.name ?? ''}" does not tell Istio the protocol (http, http-<suffix>, ... or set appProtocol), so it is treated as opaque TCP`,
        );
      const target = port.targetPort ?? port.port;
      for (const w of pods) {
        const ports = w.containers.flatMap((c) => c.ports ?? []);
        const found =
          typeof target === 'number'
            ? ports.some((p) => p.containerPort === target)
            : ports.some((p) => p.name === target);
        if (!found)
          ns.report(
            m,
            `${label}: targetPort ${JSON.stringify(target)} is not a container port of ${objectName(w.manifest)} (ports: ${ports.map((p) => `${p.name ?? '-'}=${p.containerPort}`).join(', ') || 'none'})`,
          );
      }
    }
  }
}
