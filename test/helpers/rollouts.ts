// Test helper: the checks the Argo Rollouts controller would make of
// kubernetes/argo-rollouts/, and the errors it would meet at run time, made
// offline. Each rule follows the controller's own code (argo-rollouts:
// rollout/trafficrouting/istio, utils/analysis, utils/template,
// pkg/apis/rollouts/validation); a problem names the file, the object and
// what the controller would do with it. The Rollout's pods, Services, routes
// and policies meet the same rules as the Deployments' in
// manifest-checks/, which read Rollouts too; these are the Rollout's own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IAnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { IAuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IService } from 'kubernetes-models/v1/Service';
import { checkCondition } from './argo-expr.ts';
import { type Labels, selects } from './manifest-checks/namespace.ts';
import { loadManifests, type Manifest, objectName, type Problem } from './manifests.ts';
import { checkQuery } from './promql.ts';

export const ARGO_ROLLOUTS_DIR = 'kubernetes/argo-rollouts';

type Metric = NonNullable<IAnalysisTemplate['spec']['metrics']>[number];
type RolloutAnalysis = NonNullable<NonNullable<NonNullable<IRollout['spec']['strategy']>['canary']>['analysis']>;
type Container = {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
};

// ---------------------------------------------------------------------------
// JSON Patch (RFC 6902), as `kubectl patch --type json` applies the release files

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** A copy of `doc` with the operations applied; throws where kubectl would refuse the patch. */
export function applyJsonPatch<T>(doc: T, operations: readonly PatchOperation[]): T {
  const root = structuredClone(doc) as unknown;
  for (const operation of operations) {
    const keys = operation.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`patch: path ${operation.path} names the whole document`);
    let parent = root;
    for (const key of keys) {
      parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[key] : undefined;
      if (parent === undefined) throw new Error(`patch: ${operation.op} ${operation.path}: ${key} does not exist`);
    }
    const container = parent as Record<string, unknown> | unknown[];
    const exists = Array.isArray(container) ? last === '-' || Number(last) < container.length : last in container;
    switch (operation.op) {
      case 'test':
        if (JSON.stringify((container as Record<string, unknown>)[last]) !== JSON.stringify(operation.value))
          throw new Error(`patch: test ${operation.path} failed: not ${JSON.stringify(operation.value)}`);
        break;
      case 'add':
        if (Array.isArray(container))
          container.splice(last === '-' ? container.length : Number(last), 0, operation.value);
        else container[last] = operation.value;
        break;
      case 'replace':
      case 'remove':
        if (!exists || last === '-') throw new Error(`patch: ${operation.op} ${operation.path}: it does not exist`);
        if (operation.op === 'replace') (container as Record<string, unknown>)[last] = operation.value;
        else if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      default:
        throw new Error(`patch: unsupported op ${String((operation as { op: unknown }).op)}`);
    }
  }
  return root as T;
}

// ---------------------------------------------------------------------------
// Args, as the controller resolves them

/**
 * utils/template: every `{{tag}}` (spaces around the tag ignored) replaced by
 * `args.<name>`; a tag that is not a known arg is an error.
 */
export function substituteArgs(text: string, args: ReadonlyMap<string, string>): string {
  let out = '';
  let rest = text;
  for (;;) {
    const start = rest.indexOf('{{');
    if (start < 0) return out + rest;
    const end = rest.indexOf('}}', start + 2);
    if (end < 0) throw new Error(`cannot find end tag "}}" in ${JSON.stringify(text)}`);
    const tag = rest.slice(start + 2, end).trim();
    const value = tag.startsWith('args.') ? args.get(tag.slice('args.'.length)) : undefined;
    if (value === undefined) throw new Error(`failed to resolve {{${rest.slice(start + 2, end)}}}`);
    out += rest.slice(0, start) + value;
    rest = rest.slice(end + 2);
  }
}

/**
 * utils/analysis ResolveMetricArgs: the metric marshalled to JSON, args
 * substituted with their JSON escaping, and read back.
 */
export function resolveMetric(metric: Metric, args: ReadonlyMap<string, string>): Metric {
  const escaped = new Map([...args].map(([k, v]) => [k, JSON.stringify(v).slice(1, -1)]));
  return JSON.parse(substituteArgs(JSON.stringify(metric), escaped)) as Metric;
}

/**
 * An arg's `valueFrom.fieldRef`: `metadata.*` as the downward API reads it
 * (Kubernetes' fieldpath), anything else by walking the Rollout's JSON
 * (utils/analysis extractValueFromRollout). Throws where the controller errs.
 */
export function fieldPathValue(rollout: IRollout, fieldPath: string): string {
  if (fieldPath.startsWith('metadata')) {
    const meta = rollout.metadata ?? {};
    const subscript = /^metadata\.(annotations|labels)\['([^']+)'\]$/.exec(fieldPath);
    if (subscript) return meta[subscript[1] as 'annotations' | 'labels']?.[subscript[2] ?? ''] ?? '';
    if (fieldPath === 'metadata.name') return meta.name ?? '';
    if (fieldPath === 'metadata.namespace') return meta.namespace ?? '';
    throw new Error(
      `unsupported fieldPath ${fieldPath}: only metadata.name, metadata.namespace and metadata.annotations['...'] or metadata.labels['...']`,
    );
  }
  let value: unknown = JSON.parse(JSON.stringify(rollout));
  for (const section of fieldPath.split(/[.[\]]+/).filter(Boolean)) {
    if (Array.isArray(value)) {
      const i = Number(section);
      if (!Number.isInteger(i)) throw new Error(`invalid index '${section}'`);
      if (i >= value.length) throw new Error(`index ${i} out of range`);
      value = value[i];
    } else if (value !== null && typeof value === 'object') value = (value as Record<string, unknown>)[section];
    else throw new Error(`invalid path ${fieldPath} in rollout`);
  }
  if (value === undefined || value === null) throw new Error(`invalid path ${fieldPath} in rollout`);
  if (typeof value === 'object') throw new Error(`path ${fieldPath} in rollout must terminate in a primitive value`);
  return String(value);
}

export interface AnalysisRun {
  args: Map<string, string>;
  /** The metrics with their args substituted, as the AnalysisRun runs them. */
  metrics: Metric[];
  /** Args the Rollout passes that no template declares: the controller drops them silently. */
  ignored: string[];
}

/**
 * utils/analysis NewAnalysisRunFromTemplates: the templates' metrics and args
 * merged (two metrics of one name, or one arg with two defaults, are errors),
 * the Rollout's args applied over the defaults, every arg resolved. Throws
 * with the controller's reason where it would refuse to create the run.
 */
export function analysisRun(
  rollout: IRollout,
  analysis: RolloutAnalysis,
  templates: ReadonlyMap<string, IAnalysisTemplate>,
): AnalysisRun {
  const metrics: Metric[] = [];
  const declared = new Map<string, string | undefined>();
  for (const ref of analysis.templates ?? []) {
    if (ref.clusterScope)
      throw new Error(`template ${ref.templateName}: ClusterAnalysisTemplates are not checked here`);
    const template = templates.get(ref.templateName ?? '');
    if (!template) throw new Error(`AnalysisTemplate ${ref.templateName} is not defined here`);
    for (const metric of template.spec.metrics ?? []) {
      if (metrics.some((m) => m.name === metric.name))
        throw new Error(`two metrics have the same name '${metric.name}'`);
      metrics.push(metric);
    }
    for (const arg of template.spec.args ?? []) {
      const previous = declared.get(arg.name);
      if (previous !== undefined && arg.value !== undefined && previous !== arg.value)
        throw new Error(
          `Argument \`${arg.name}\` specified multiple times with different values: '${previous}', '${arg.value}'`,
        );
      declared.set(arg.name, previous ?? arg.value);
    }
  }
  const args = new Map<string, string>();
  for (const [name, value] of declared) if (value !== undefined) args.set(name, value);
  const ignored: string[] = [];
  for (const arg of analysis.args ?? []) {
    if (!declared.has(arg.name)) {
      ignored.push(arg.name);
      continue;
    }
    if (arg.value !== undefined) args.set(arg.name, arg.value);
    else if (arg.valueFrom?.fieldRef) args.set(arg.name, fieldPathValue(rollout, arg.valueFrom.fieldRef.fieldPath));
    else if (arg.valueFrom?.podTemplateHashValue) args.set(arg.name, `<${arg.valueFrom.podTemplateHashValue} hash>`);
  }
  for (const name of declared.keys()) if (!args.has(name)) throw new Error(`args.${name} was not resolved`);
  return { args, metrics: metrics.map((m) => resolveMetric(m, args)), ignored };
}

/** A release of releases/, as the JSON patch kubectl applies. */
export function readRelease(root: string, name: string): PatchOperation[] {
  return JSON.parse(readFileSync(path.join(root, ARGO_ROLLOUTS_DIR, 'releases', name), 'utf8')) as PatchOperation[];
}

/** The Rollout and its AnalysisTemplates, as the files hold them. */
export function readRollout(root: string): { rollout: IRollout; templates: Map<string, IAnalysisTemplate> } {
  const { manifests } = loadManifests(
    [`${ARGO_ROLLOUTS_DIR}/rollout.yaml`, `${ARGO_ROLLOUTS_DIR}/analysis.yaml`],
    root,
  );
  const rollout = manifests.find((m) => m.kind === 'Rollout')?.body as unknown as IRollout | undefined;
  if (!rollout) throw new Error(`${ARGO_ROLLOUTS_DIR}/rollout.yaml holds no Rollout`);
  return { rollout, templates: analysisTemplates(manifests) };
}

/** The AnalysisTemplates among `manifests`, by name. */
export function analysisTemplates(manifests: readonly Manifest[]): Map<string, IAnalysisTemplate> {
  return new Map(
    manifests
      .filter((m) => m.kind === 'AnalysisTemplate')
      .map((m) => [m.name, m.body as unknown as IAnalysisTemplate] as const),
  );
}

/** The Rollout as the API server holds it once `release` is patched in: in `namespace`. */
export function releasedRollout(rollout: IRollout, release: readonly PatchOperation[], namespace: string): IRollout {
  const released = applyJsonPatch(rollout, release);
  released.metadata = { ...released.metadata, namespace };
  return released;
}

// ---------------------------------------------------------------------------
// The checks

export interface RolloutFacts {
  /** package.json's version: the tag of ecadraft's image. */
  packageVersion: string;
  /** The namespace the manifests are applied to (the Rollout sets none). */
  namespace: string;
  /** The release the analysis steps are checked for: a JSON patch of the Rollout. */
  release: readonly PatchOperation[];
  /** GET /metrics of the released version, parsed (promql.ts parseExposition). */
  served: Map<string, Array<Record<string, string>>>;
  /** Labels the cluster's Prometheus adds to every series it scrapes. */
  targetLabels: readonly string[];
}

/** The weight of the last setWeight at or before step `index`: the weights a gate at `index` sees. */
export function weightAt(steps: ReadonlyArray<{ setWeight?: number }>, index: number): number {
  for (let i = index; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** `--expect a=1,b=2` (or `-e`, or `--expect=`) of a command line, as version -> share. */
function expectationOf(argv: readonly string[]): Map<string, number> | undefined {
  const at = argv.findIndex((a) => a === '--expect' || a === '-e' || a.startsWith('--expect='));
  if (at < 0) return undefined;
  const text = argv[at]?.startsWith('--expect=') ? argv[at].slice('--expect='.length) : (argv[at + 1] ?? '');
  return new Map(
    text.split(',').map((part) => {
      const [version = '', share = ''] = part.split('=');
      return [version.trim(), Number(share)] as const;
    }),
  );
}

const showShares = (shares: ReadonlyMap<string, number>): string => [...shares].map(([v, s]) => `${v}=${s}`).join(',');

export async function checkRollouts(all: readonly Manifest[], facts: RolloutFacts): Promise<Problem[]> {
  const problems: Problem[] = [];
  const manifests = all.filter((m) => m.valid);
  const report = (m: Manifest, message: string): void => {
    problems.push({ file: m.file, object: objectName(m), message });
  };
  const ofKind = (kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
  const byName = <T>(kind: string): Map<string, { manifest: Manifest; body: T }> =>
    new Map(ofKind(kind).map((m) => [m.name, { manifest: m, body: m.body as unknown as T }]));

  const virtualServices = byName<IVirtualService>('VirtualService');
  const destinationRules = byName<IDestinationRule>('DestinationRule');
  const templates = analysisTemplates(manifests);
  const services = ofKind('Service').map((m) => m.body as unknown as IService);
  const serviceAccounts = new Set(ofKind('ServiceAccount').map((m) => m.name));
  const rollouts = ofKind('Rollout');
  const podLabels = rollouts.map((m) => (m.body as unknown as IRollout).spec.template?.metadata?.labels ?? {});

  // With an ALLOW AuthorizationPolicy on the Rollout's pods (the hardening),
  // a request that none of them admits is denied.
  const allowPolicies = ofKind('AuthorizationPolicy')
    .map((m) => (m.body as unknown as IAuthorizationPolicy).spec ?? {})
    .filter(
      (p) =>
        (p.action ?? 'ALLOW') === 'ALLOW' &&
        p.selector?.matchLabels &&
        podLabels.some((labels) => selects(p.selector?.matchLabels ?? {}, labels)),
    );
  const pathMatches = (pattern: string, path: string): boolean =>
    pattern === '*' ||
    pattern === path ||
    (pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1))) ||
    (pattern.startsWith('*') && path.endsWith(pattern.slice(1)));
  /** Whether a GET of `path` by ServiceAccount `account` gets through the policies on the Rollout's pods. */
  const admitted = (account: string, path: string): boolean =>
    allowPolicies.length === 0 ||
    allowPolicies.some((p) =>
      (p.rules ?? []).some(
        (rule) =>
          ((rule.from ?? []).length === 0 ||
            (rule.from ?? []).some(
              (f) =>
                (f.source?.serviceAccounts ?? []).some((a) => a === account || a === `${facts.namespace}/${account}`) ||
                (f.source?.principals ?? []).some((a) => a.endsWith(`/ns/${facts.namespace}/sa/${account}`)),
            )) &&
          ((rule.to ?? []).length === 0 ||
            (rule.to ?? []).some(
              (t) =>
                (t.operation?.methods ?? ['GET']).includes('GET') &&
                (t.operation?.paths ?? ['*']).some((pattern) => pathMatches(pattern, path)),
            )),
      ),
    );

  for (const m of rollouts) {
    const rollout = m.body as unknown as IRollout;
    const spec = rollout.spec;
    const template = spec.template;
    const labels: Labels = template?.metadata?.labels ?? {};
    const selector: Labels = spec.selector?.matchLabels ?? {};

    // -- pkg/apis/rollouts/validation (that it selects the template is a rule for every workload).
    if (Object.keys(selector).length === 0) report(m, 'spec.selector is empty, which the controller refuses');

    const canary = spec.strategy?.canary;
    const istio = canary?.trafficRouting?.istio;
    if (!canary || !istio) {
      report(m, 'has no canary strategy with trafficRouting.istio');
      continue;
    }

    // -- The DestinationRule and its two subsets.
    const drRef = istio.destinationRule;
    const dr = drRef ? destinationRules.get(drRef.name) : undefined;
    if (!drRef) report(m, 'trafficRouting.istio names no destinationRule, so the weights would split by host');
    else if (!dr) report(m, `trafficRouting.istio.destinationRule: DestinationRule ${drRef.name} is not defined here`);
    else {
      if (drRef.stableSubsetName === drRef.canarySubsetName)
        report(m, `trafficRouting.istio.destinationRule: stable and canary are both subset ${drRef.stableSubsetName}`);
      for (const name of [drRef.stableSubsetName, drRef.canarySubsetName]) {
        const subset = (dr.body.spec?.subsets ?? []).find((s) => s.name === name);
        if (!subset) {
          report(dr.manifest, `has no subset ${name}, which Rollout/${m.name} routes to`);
          continue;
        }
        // The controller adds the pod-template hash to these labels and keeps
        // the rest: a label that changes between releases (version) would
        // make the subset select nothing once the other revision is stable.
        for (const [k, v] of Object.entries(subset.labels ?? {})) {
          if (selector[k] !== v)
            report(
              dr.manifest,
              `subset ${name}: label ${k}=${v} is not one every revision of Rollout/${m.name} carries (its selector: ${Object.entries(
                selector,
              )
                .map(([a, b]) => `${a}=${b}`)
                .join(',')}), so the subset selects no pods once the pods change`,
            );
        }
      }
    }

    // -- The VirtualServices: each named route holds the two subsets, and nothing else.
    const vsRefs = istio.virtualServices ?? (istio.virtualService ? [istio.virtualService] : []);
    if (istio.virtualService && istio.virtualServices)
      report(m, 'trafficRouting.istio sets both virtualService and virtualServices; the controller takes neither');
    if (vsRefs.length === 0) report(m, 'trafficRouting.istio names no VirtualService');
    for (const ref of vsRefs) {
      const vs = virtualServices.get(ref.name);
      if (!vs) {
        report(m, `trafficRouting.istio: VirtualService ${ref.name} is not defined here`);
        continue;
      }
      const http = vs.body.spec?.http ?? [];
      const routeNames = ref.routes ?? [];
      let indexes: number[];
      if (routeNames.length === 0) {
        if (http.length !== 1) {
          report(m, `VirtualService ${ref.name} has ${http.length} HTTP routes; name the one to split in routes`);
          continue;
        }
        indexes = [0];
      } else {
        indexes = [];
        for (const name of routeNames) {
          const i = http.findIndex((r) => r.name === name);
          if (i < 0) report(m, `HTTP route ${name} is not found in VirtualService ${ref.name}`);
          else indexes.push(i);
        }
      }
      for (const i of indexes) {
        const route = http[i]?.route ?? [];
        const where = `spec.http[${i}]${http[i]?.name ? ` (${http[i]?.name})` : ''}`;
        if (!drRef || !dr) continue;
        const subsets = route.map((d) => d.destination.subset ?? '(none)');
        for (const name of [drRef.stableSubsetName, drRef.canarySubsetName]) {
          if (!subsets.includes(name))
            report(
              vs.manifest,
              `${where}: no destination to subset ${name}, so Rollout/${m.name} cannot set its weight`,
            );
        }
        for (const d of route) {
          const subset = d.destination.subset;
          if (subset !== drRef.stableSubsetName && subset !== drRef.canarySubsetName)
            report(
              vs.manifest,
              `${where}: destination ${d.destination.host}/${subset ?? '(no subset)'} would be removed by the controller at the first step`,
            );
          if (d.destination.host.split('.')[0] !== dr.body.spec?.host?.split('.')[0])
            report(
              vs.manifest,
              `${where}: destination host ${d.destination.host} is not ${dr.body.spec?.host}, the host of DestinationRule ${dr.manifest.name}`,
            );
        }
        const weightOf = (name: string) => route.find((d) => d.destination.subset === name)?.weight ?? 0;
        if (weightOf(drRef.stableSubsetName) !== 100 || weightOf(drRef.canarySubsetName) !== 0)
          report(
            vs.manifest,
            `${where}: must start with all traffic on ${drRef.stableSubsetName} (100/0): until the controller rewrites it, these weights are live`,
          );
      }
    }

    // -- The steps.
    const steps = canary.steps ?? [];
    steps.forEach((step, i) => {
      const actions = Object.keys(step).filter((k) => (step as Record<string, unknown>)[k] !== undefined);
      if (actions.length !== 1)
        report(m, `steps[${i}] has ${actions.join(', ') || 'no action'}; a step does one thing`);
      if (step.setWeight !== undefined && (step.setWeight < 0 || step.setWeight > 100))
        report(m, `steps[${i}].setWeight ${step.setWeight} is not between 0 and 100`);
    });
    if (!steps.some((s) => s.setWeight === 100) && steps.length > 0)
      report(m, 'no step sets the weight to 100: the last stretch to 100% would be taken without a gate');

    // -- Every analysis step, as its AnalysisRun would be created during the release.
    let released: IRollout;
    try {
      released = releasedRollout(rollout, facts.release, facts.namespace);
    } catch (error) {
      report(m, `the release does not apply: ${(error as Error).message}`);
      continue;
    }
    const stableVersion = labels.version ?? '';
    const canaryVersion = released.spec.template?.metadata?.labels?.version ?? '';
    for (const [i, step] of steps.entries()) {
      if (!step.analysis) continue;
      const where = `steps[${i}].analysis`;
      let run: AnalysisRun;
      try {
        run = analysisRun(released, step.analysis, templates);
      } catch (error) {
        report(m, `${where}: the controller cannot create the AnalysisRun: ${(error as Error).message}`);
        continue;
      }
      for (const name of run.ignored)
        report(m, `${where}: arg ${name} is declared by none of the templates, so the controller drops it`);
      for (const [name, value] of run.args) {
        if (value === '') report(m, `${where}: arg ${name} resolves to an empty string`);
      }
      const weight = weightAt(steps, i);
      for (const metric of run.metrics) {
        await checkMetric(metric, (message) => report(m, `${where}: metric ${metric.name}: ${message}`), {
          weight,
          stableVersion,
          canaryVersion,
        });
      }
    }
  }

  async function checkMetric(
    metric: Metric,
    say: (message: string) => void,
    step: { weight: number; stableVersion: string; canaryVersion: string },
  ): Promise<void> {
    // utils/analysis ValidateMetric.
    const int = (v: number | string | undefined): number => (v === undefined ? 0 : Number(v));
    const count = int(metric.count);
    if (count > 0 && count < int(metric.failureLimit) + int(metric.consecutiveSuccessLimit))
      say(`count ${count} is below failureLimit + consecutiveSuccessLimit`);
    if (count > 0 && count < int(metric.inconclusiveLimit)) say(`count ${count} is below inconclusiveLimit`);
    if (count > 1 && !metric.interval) say(`count ${count} needs an interval`);
    const providers = Object.keys(metric.provider).filter((k) => (metric.provider as Record<string, unknown>)[k]);
    if (providers.length !== 1) say(`has ${providers.length} providers; it needs exactly one`);
    for (const key of ['successCondition', 'failureCondition'] as const) {
      const condition = metric[key];
      if (condition === undefined) continue;
      try {
        checkCondition(condition);
      } catch (error) {
        say(`${key} ${JSON.stringify(condition)} does not parse: ${(error as Error).message}`);
      }
    }

    const prometheus = metric.provider.prometheus;
    if (prometheus) {
      if (!/^https?:\/\/[^/]+/.test(prometheus.address ?? '')) say(`address ${prometheus.address} is not a URL`);
      for (const problem of checkQuery(prometheus.query ?? '', facts.served, facts.targetLabels))
        say(`query: ${problem}`);
    }

    const job = metric.provider.job;
    if (job) {
      const pod = job.spec.template;
      if (!['Never', 'OnFailure'].includes(pod.spec?.restartPolicy ?? 'Always'))
        say(`restartPolicy ${pod.spec?.restartPolicy ?? 'Always (default)'}: a Job's pod must use Never or OnFailure`);
      if (pod.metadata?.annotations?.['sidecar.istio.io/nativeSidecar'] !== 'true')
        say(
          'its pod does not ask for a native sidecar: a classic Istio sidecar keeps running after the Job is done, and the step never ends',
        );
      const jobLabels = pod.metadata?.labels ?? {};
      for (const service of services) {
        const selector = service.spec?.selector ?? {};
        if (Object.keys(selector).length > 0 && selects(selector, jobLabels))
          say(`its pod's labels are selected by Service ${service.metadata?.name}, which would send it traffic`);
      }
      const account = pod.spec?.serviceAccountName;
      if (account && !serviceAccounts.has(account))
        say(`serviceAccountName ${account} is not a ServiceAccount defined here`);
      for (const c of (pod.spec?.containers ?? []) as Container[]) {
        const image = c.image ?? '';
        if (image !== `ecadraft:${facts.packageVersion}`)
          say(`container ${c.name}: image ${image} is not ecadraft's (ecadraft:${facts.packageVersion})`);
        const argv = [...(c.command ?? []), ...(c.args ?? [])];
        if (argv[0] !== 'node' || argv[1] !== 'dist/cli/ecadraft.js')
          say(
            `container ${c.name}: runs ${argv.slice(0, 2).join(' ')}, not the CLI of the image (node dist/cli/ecadraft.js)`,
          );
        const expected = new Map([
          [step.stableVersion, 100 - step.weight],
          [step.canaryVersion, step.weight],
        ]);
        const url = argv.find((a) => /^https?:\/\//.test(a));
        const path = url ? new URL(url).pathname : '/';
        if (!admitted(account ?? 'default', path))
          say(
            `container ${c.name}: runs as ServiceAccount ${account ?? 'default'}, which no AuthorizationPolicy on ecadraft's pods admits to GET ${path}, so with the hardening every request it sends gets 403 and the gate fails`,
          );
        const expectation = expectationOf(argv);
        if (!expectation) say(`container ${c.name}: runs no --expect, so it cannot fail`);
        else if (
          expectation.size !== expected.size ||
          [...expected].some(([version, share]) => expectation.get(version) !== share)
        )
          say(
            `container ${c.name}: expects ${showShares(expectation)} at weight ${step.weight}, but the routes send ${showShares(expected)}`,
          );
      }
    }
  }

  // -- A PodMonitor must find the Rollout's pods on a port they declare. (The
  //    pods' prometheus.io annotations, which tell Istio's agent where the
  //    app serves its metrics, are a rule for every workload.)
  for (const m of ofKind('PodMonitor')) {
    const monitor = m.body as unknown as IPodMonitor;
    const selector: Labels = monitor.spec.selector.matchLabels ?? {};
    const matched = rollouts.filter((_, i) => selects(selector, podLabels[i] ?? {}));
    if (matched.length === 0) report(m, `selector selects no Rollout's pods`);
    for (const r of matched) {
      const containers = ((r.body as unknown as IRollout).spec.template?.spec?.containers ?? []) as Container[];
      for (const endpoint of monitor.spec.podMetricsEndpoints ?? []) {
        if (endpoint.port && !containers.some((c) => (c.ports ?? []).some((p) => p.name === endpoint.port)))
          report(m, `port ${endpoint.port} is not a container port of Rollout/${r.name}`);
      }
    }
  }

  return problems;
}

// ---------------------------------------------------------------------------
// Pod templates

/** Where two pod templates differ, as `path: a vs b`. */
export function templateDifferences(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      if (Array.isArray(x) !== Array.isArray(y)) {
        out.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
        return;
      }
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const key of keys) {
        const child = Array.isArray(x) ? `${path}[${key}]` : `${path}.${key}`;
        walk((x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key], child);
      }
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  walk(a, b, 'template');
  return out;
}
