// PodDisruptionBudgets and HorizontalPodAutoscalers: drains take one pod of a
// version at a time and are never blocked by a broken one; each version
// scales on its own container's CPU, from a floor that matches its
// Deployment.
import { objectName } from '../manifests.ts';
import { isEmptySelector, isZero, type LabelSelector, type Namespace, showSelector } from './namespace.ts';

interface DisruptionBudgetSpec {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  unhealthyPodEvictionPolicy?: string;
  selector?: LabelSelector;
}

interface AutoscalerSpec {
  scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
  minReplicas?: number;
  maxReplicas?: number;
  metrics?: Array<{
    type: string;
    resource?: { name: string };
    containerResource?: { name: string; container: string; target: { type: string } };
  }>;
}

export function checkDisruptionBudgets(ns: Namespace): void {
  for (const { manifest: m, body } of ns.ofKind<{ spec?: DisruptionBudgetSpec }>('policy/v1', 'PodDisruptionBudget')) {
    const spec = body.spec ?? {};
    if (isEmptySelector(spec.selector))
      ns.report(m, "selector selects every pod in the namespace; scope it to ecadraft's pods");
    else if (ns.podsSelectedBy(spec.selector as LabelSelector).length === 0)
      ns.report(
        m,
        `selector ${showSelector(spec.selector as LabelSelector)} selects no Deployment's or Rollout's pods`,
      );
    if (isZero(spec.maxUnavailable) || spec.minAvailable === '100%')
      ns.report(m, 'allows no disruption at all, so node drains block forever');
    else if (spec.minAvailable !== undefined)
      ns.report(
        m,
        `minAvailable ${spec.minAvailable} lets a drain evict all pods but ${spec.minAvailable} at once (5 of 6 when the HPA has scaled to 6); use maxUnavailable: 1`,
      );
    else if (spec.maxUnavailable !== 1)
      ns.report(
        m,
        `maxUnavailable ${String(spec.maxUnavailable ?? 'unset')} is not 1: take one pod of a version at a time`,
      );
    if (spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow')
      ns.report(
        m,
        `unhealthyPodEvictionPolicy ${spec.unhealthyPodEvictionPolicy ?? 'unset (IfHealthyBudget)'} counts a pod that is not ready against the budget, so a crash-looping canary blocks node drains; set AlwaysAllow`,
      );
  }
}

export function checkAutoscalers(ns: Namespace): void {
  for (const { manifest: m, body } of ns.ofKind<{ spec?: AutoscalerSpec }>(
    'autoscaling/v2',
    'HorizontalPodAutoscaler',
  )) {
    const ref = body.spec?.scaleTargetRef;
    const target =
      ref && ref.kind === 'Deployment' && (ref.apiVersion ?? 'apps/v1') === 'apps/v1'
        ? ns.workloads.find((w) => w.manifest.kind === 'Deployment' && w.manifest.name === ref.name)
        : undefined;
    if (!target)
      ns.report(
        m,
        `scaleTargetRef ${ref?.apiVersion ?? ''} ${ref?.kind ?? ''}/${ref?.name ?? ''} is not a Deployment defined here`,
      );
    const min = body.spec?.minReplicas ?? 1;
    const max = body.spec?.maxReplicas ?? 0;
    if (min > max) ns.report(m, `minReplicas ${min} is above maxReplicas ${max}`);
    if (min < 2)
      ns.report(m, `minReplicas ${min}: a drain or a rollout would leave the version without a ready pod; keep 2`);
    const replicas = target?.spec?.replicas;
    if (target && replicas !== undefined && replicas !== min)
      ns.report(
        m,
        `minReplicas ${min} differs from the replicas ${replicas} of ${objectName(target.manifest)}: every re-apply of the Deployment sets ${replicas} until the HPA's next sync; keep them equal`,
      );
    for (const metric of body.spec?.metrics ?? []) {
      if (metric.type === 'Resource' && metric.resource)
        ns.report(
          m,
          `scales on the pods' ${metric.resource.name}, which averages every container, the sidecar included; use a ContainerResource metric for container ecadraft`,
        );
      const resource = metric.type === 'ContainerResource' ? metric.containerResource : undefined;
      if (!target || !resource) continue;
      const container = target.containers.find((c) => c.name === resource.container);
      if (!container)
        ns.report(m, `scales on container ${resource.container}, which ${objectName(target.manifest)} does not have`);
      else if (resource.target.type === 'Utilization' && container.resources?.requests?.[resource.name] === undefined)
        ns.report(
          m,
          `scales on ${resource.name} utilization, but container ${container.name} of ${objectName(target.manifest)} requests no ${resource.name}, so the HPA cannot compute it`,
        );
    }
  }
}
