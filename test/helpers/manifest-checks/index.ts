// The cross-reference checks, as `istioctl analyze` and a review against
// Istio's and Kubernetes' sources would make them: the manifests of one
// variant, taken together as the contents of one namespace. Each check is one
// feature; the order only sets the order of the messages.
import type { Manifest, Problem } from '../manifests.ts';
import { checkWaypointBindings, checkWaypoints } from './ambient.ts';
import { checkAutoscalers, checkDisruptionBudgets } from './availability.ts';
import { checkGateways, checkHttpRoutes } from './gateway-api.ts';
import { checkMeshRouting } from './mesh-routing.ts';
import { type AppFacts, type CheckOptions, Namespace } from './namespace.ts';
import { checkNoNamespace, checkSameDefinitions } from './objects.ts';
import { checkAuthorizationPolicies, checkPeerAuthentications } from './security.ts';
import { checkServices } from './services.ts';
import {
  checkDestinationRules,
  checkIdleTimeouts,
  checkInboundPinning,
  checkOutlierDetection,
  type Hop,
  idleTimeoutHops,
} from './traffic-policy.ts';
import { checkVirtualServices } from './virtual-services.ts';
import { checkWorkloads } from './workloads.ts';

export type { AppFacts, CheckOptions, Dataplane } from './namespace.ts';
export type { Hop } from './traffic-policy.ts';

const CHECKS: ReadonlyArray<(ns: Namespace) => void | Promise<void>> = [
  checkNoNamespace,
  checkSameDefinitions,
  checkWorkloads,
  checkServices,
  checkDestinationRules,
  checkVirtualServices,
  checkGateways,
  checkHttpRoutes,
  checkMeshRouting,
  checkWaypoints,
  checkWaypointBindings,
  checkOutlierDetection,
  checkIdleTimeouts,
  checkInboundPinning,
  checkPeerAuthentications,
  checkAuthorizationPolicies,
  checkDisruptionBudgets,
  checkAutoscalers,
];

export async function checkManifests(
  all: readonly Manifest[],
  app: AppFacts,
  options: CheckOptions = { dataplane: 'sidecar' },
): Promise<Problem[]> {
  const ns = new Namespace(all, app, options);
  for (const check of CHECKS) await check(ns);
  return ns.problems;
}

/** Every hop into ecadraft with Envoy's idle timeout on it, for the tests that tie it to the app's keep-alive. */
export function connectionHops(all: readonly Manifest[], app: AppFacts, options: CheckOptions): Hop[] {
  return idleTimeoutHops(new Namespace(all, app, options));
}
