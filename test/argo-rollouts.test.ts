// kubernetes/argo-rollouts/, checked without a cluster. Its schemas and the
// rules every variant meets (pods, routing, traffic policy, hardening) are
// checked with the other variants in test/kubernetes.test.ts; here: the
// Rollout's pod template against the Deployments', the routing objects
// against the walkthrough's; what the Argo Rollouts controller would check or
// trip over (test/helpers/rollouts.ts), each rule (and each of the shared ones
// the Rollout leans on) shown to reject a broken copy of the real manifests;
// and the condition evaluator used against Prometheus. The queries themselves
// meet a real Prometheus in test/process/prometheus-analysis.test.ts, and the
// split Job's command line two real servers in
// test/process/argo-rollouts-split-job.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { IAnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import t from 'tap';
import { appFacts, PACKAGE_VERSION, servedMetrics } from './helpers/app-facts.ts';
import { evalCondition, evaluateResult } from './helpers/argo-expr.ts';
import { checkManifests } from './helpers/manifest-checks/index.ts';
import { applyOutputs } from './helpers/manifest-files.ts';
import { formatProblem, listManifestFiles, loadManifests, type Manifest, validateSchema } from './helpers/manifests.ts';
import { ROOT } from './helpers/process.ts';
import { checkQuery, parseExposition } from './helpers/promql.ts';
import {
  ARGO_ROLLOUTS_DIR,
  analysisRun,
  analysisTemplates,
  applyJsonPatch,
  checkRollouts,
  type PatchOperation,
  type RolloutFacts,
  readRelease,
  releasedRollout,
  substituteArgs,
  templateDifferences,
} from './helpers/rollouts.ts';

const DIR = ARGO_ROLLOUTS_DIR;
/** The hardening of this variant: with it, the split Job must still get through. */
const HARDENING = 'kubernetes/hardening/argo-rollouts';
/**
 * The one line where the Rollout's pods differ from the Deployment's: the
 * label that tells one ReplicaSet's pods from another's, which a Rollout's
 * pods carry under another name.
 */
const HASH_KEY_DIFFERENCE =
  'template.spec.topologySpreadConstraints[0].matchLabelKeys[0]: "rollouts-pod-template-hash" vs "pod-template-hash"';
/** What Istio's Prometheus add-on and prometheus-operator add to every series of a pod. */
const TARGET_LABELS = ['namespace', 'pod'];

const facts = appFacts(t);
const releaseFile = (name: string): PatchOperation[] => readRelease(ROOT, name);
const RELEASE_V2 = releaseFile('v2.json');

const files = [...listManifestFiles(DIR, ROOT), ...listManifestFiles(HARDENING, ROOT)];
// Their schemas are test/kubernetes.test.ts's; validating marks them valid, for the checks to read.
const loaded = loadManifests(files, ROOT);
for (const m of loaded.manifests) validateSchema(m);
const walkthrough = loadManifests(['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml'], ROOT).manifests;
for (const m of walkthrough) validateSchema(m);

const find = (manifests: readonly Manifest[], kind: string, name: string): Manifest => {
  const m = manifests.find((x) => x.kind === kind && x.name === name);
  if (!m) throw new Error(`${kind}/${name} is not loaded`);
  return m;
};
const rolloutOf = (manifests: readonly Manifest[]): IRollout =>
  find(manifests, 'Rollout', 'ecadraft').body as unknown as IRollout;
const deployment = (version: string): IDeployment =>
  find(walkthrough, 'Deployment', `ecadraft-${version}`).body as unknown as IDeployment;

let served: RolloutFacts['served'] | undefined;
async function rolloutFacts(release: readonly PatchOperation[] = RELEASE_V2): Promise<RolloutFacts> {
  served ??= parseExposition(await servedMetrics('v2'));
  return {
    packageVersion: PACKAGE_VERSION,
    namespace: 'default',
    release,
    served,
    targetLabels: TARGET_LABELS,
  };
}

// ---------------------------------------------------------------------------
// The real manifests

t.test("the Rollout's pods are the Deployments' pods", async (t) => {
  const rollout = rolloutOf(loaded.manifests);
  const v1 = deployment('v1');
  t.strictSame(templateDifferences(rollout.spec.template, v1.spec?.template), [HASH_KEY_DIFFERENCE]);
  t.equal(rollout.spec.replicas, v1.spec?.replicas);
  t.equal(rollout.spec.revisionHistoryLimit, v1.spec?.revisionHistoryLimit);
  // The selector is the Deployments' without the version, which changes with each release.
  const { version, ...shared } = v1.spec?.selector.matchLabels ?? {};
  t.equal(version, 'v1');
  t.strictSame(rollout.spec.selector?.matchLabels, shared);

  // The comparison sees a drift anywhere in the template: probes, env, annotations.
  const drifted = structuredClone(rollout);
  const container = drifted.spec.template?.spec?.containers[0];
  if (container?.readinessProbe) container.readinessProbe.failureThreshold = 1;
  drifted.spec.template?.spec?.containers[0]?.env?.push({ name: 'LOG_LEVEL', value: 'debug' });
  delete drifted.spec.template?.metadata?.annotations?.['proxy.istio.io/config'];
  const annotated = structuredClone(v1);
  if (annotated.spec?.template.metadata)
    annotated.spec.template.metadata.annotations = {
      ...annotated.spec.template.metadata.annotations,
      'prometheus.io/port': '9090',
    };
  t.strictSame(templateDifferences(drifted.spec.template, annotated.spec?.template), [
    'template.metadata.annotations.prometheus.io/port: "8080" vs "9090"',
    'template.metadata.annotations.proxy.istio.io/config: undefined vs "proxyMetadata:\\n  EXIT_ON_ZERO_ACTIVE_CONNECTIONS: \\"true\\"\\n  MINIMUM_DRAIN_DURATION: 5s\\n"',
    HASH_KEY_DIFFERENCE,
    'template.spec.containers[0].env[4]: {"name":"LOG_LEVEL","value":"debug"} vs undefined',
    'template.spec.containers[0].readinessProbe.failureThreshold: 1 vs 3',
  ]);
});

const kubectlProbe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const kubectl = !kubectlProbe.error && kubectlProbe.status === 0;

t.test('each release file turns the Rollout into the pods of its version', async (t) => {
  const rollout = rolloutOf(loaded.manifests);
  const cases: Array<[string, string, string, Array<{ name: string; value: string }>]> = [
    ['v2.json', 'v2', 'v1', []],
    ['v2-errors.json', 'v2', 'v1', [{ name: 'FAULT_ERROR_RATE', value: '0.2' }]],
    ['v1.json', 'v1', 'v2', []],
  ];
  for (const [file, version, stable, faults] of cases) {
    const operations = releaseFile(file);
    const released = applyJsonPatch(rollout, operations);
    const expected = structuredClone(deployment(version).spec?.template);
    expected?.spec?.containers[0]?.env?.push(...faults);
    t.strictSame(templateDifferences(released.spec.template, expected), [HASH_KEY_DIFFERENCE], file);
    t.equal(released.metadata?.annotations?.['ecadraft/stable-version'], stable, `${file}: the version it replaces`);
    // A release must also apply to the Rollout in the middle of another one.
    t.strictSame(applyJsonPatch(applyJsonPatch(rollout, releaseFile('v2-errors.json')), operations), released);
    if (kubectl) {
      const patched = spawnSync(
        'kubectl',
        [
          'patch',
          '--local',
          '-f',
          `${DIR}/rollout.yaml`,
          '--type',
          'json',
          '--patch-file',
          `${DIR}/releases/${file}`,
          '-o',
          'json',
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      t.equal(patched.status, 0, patched.stderr);
      t.strictSame(JSON.parse(patched.stdout), released, `${file}: kubectl patch agrees`);
    }
  }
  // Back to v1 after an aborted release: exactly the stable pods' template, so
  // the controller returns to them at once, without steps.
  const reset = applyJsonPatch(applyJsonPatch(rollout, releaseFile('v2-errors.json')), releaseFile('v1.json'));
  t.strictSame(reset.spec.template, rollout.spec.template);
  t.throws(() => applyJsonPatch({ spec: {} }, releaseFile('v2.json')), /does not exist/);
});

t.test("the routing is the walkthrough's, with subsets by role", async (t) => {
  const routing = loaded.manifests.filter((m) => m.file === `${DIR}/routing.yaml`);
  // The same Service and Gateway: applying one after the other changes nothing.
  for (const [kind, name] of [
    ['Service', 'ecadraft'],
    ['Gateway', 'ecadraft-gateway'],
  ] as const)
    t.strictSame(find(routing, kind, name).body, find(walkthrough, kind, name).body, `${kind}/${name}`);

  // The same traffic policy: the host's, and each subset's as each of the
  // walkthrough's subsets has it (v1 and v2 alike), whatever version a role
  // holds during a release.
  type Rule = { spec: { trafficPolicy?: unknown; subsets?: Array<{ name: string; trafficPolicy?: unknown }> } };
  const rule = (manifests: readonly Manifest[]) => (find(manifests, 'DestinationRule', 'ecadraft').body as Rule).spec;
  t.strictSame(rule(routing).trafficPolicy, rule(walkthrough).trafficPolicy, "the host's policy");
  const versions = rule(walkthrough).subsets ?? [];
  const roles = rule(routing).subsets ?? [];
  t.strictSame(
    roles.map((s) => s.name),
    ['stable', 'canary'],
  );
  t.strictSame(
    versions.map((s) => s.name),
    ['v1', 'v2'],
  );
  for (const role of roles)
    for (const version of versions)
      t.strictSame(role.trafficPolicy, version.trafficPolicy, `subset ${role.name} as subset ${version.name}`);
  t.ok(
    roles.every((s) => s.trafficPolicy !== undefined),
    'each subset has a policy of its own: the comparison compares something',
  );
});

t.test('what the Argo Rollouts controller would check holds', async (t) => {
  t.strictSame((await checkRollouts(loaded.manifests, await rolloutFacts())).map(formatProblem), []);
  // And the rules for every workload, on these files alone: the baseline of the broken copies below.
  t.strictSame((await checkManifests(loaded.manifests, facts)).map(formatProblem), []);
  // The other releases are gated as well.
  for (const file of ['v2-errors.json']) {
    t.strictSame(
      (await checkRollouts(loaded.manifests, await rolloutFacts(releaseFile(file)))).map(formatProblem),
      [],
      file,
    );
  }
});

t.test('each analysis step runs the three gates with the weights of its step', async (t) => {
  const released = releasedRollout(rolloutOf(loaded.manifests), RELEASE_V2, 'default');
  const templates = analysisTemplates(loaded.manifests);
  const steps = released.spec.strategy?.canary?.steps ?? [];
  t.strictSame(
    steps.map((s) => Object.keys(s)[0]),
    ['setWeight', 'analysis', 'pause', 'setWeight', 'analysis', 'setWeight', 'analysis'],
  );
  t.strictSame(
    steps.flatMap((s) => (s.setWeight === undefined ? [] : [s.setWeight])),
    [10, 50, 100],
  );
  const expects = steps.flatMap((s) => {
    if (!s.analysis) return [];
    const run = analysisRun(released, s.analysis, templates);
    t.strictSame(
      run.metrics.map((m) => m.name),
      ['success-rate', 'p99-latency', 'split'],
    );
    t.match(run.metrics[0]?.provider.prometheus?.query, /namespace="default", version="v2"/);
    const command = run.metrics[2]?.provider.job?.spec.template.spec?.containers[0]?.command ?? [];
    return [command[command.indexOf('--expect') + 1]];
  });
  t.strictSame(expects, ['v1=90,v2=10', 'v1=50,v2=50', 'v1=0,v2=100']);
});

t.test('docs/argo-rollouts.md shows what these files do', async (t) => {
  const doc = readFileSync(path.join(ROOT, 'docs/argo-rollouts.md'), 'utf8');
  // What `kubectl apply -f kubernetes/argo-rollouts/` prints: the top-level
  // files in name order, each object in file order.
  const block = /kubectl apply -f kubernetes\/argo-rollouts\/\n```\n\n```\n([^`]*)```/.exec(doc)?.[1] ?? '';
  const top = listManifestFiles(DIR, ROOT).filter((f) => !f.slice(DIR.length + 1).includes('/'));
  const printed = applyOutputs(loaded.manifests, top);
  t.strictSame(
    block.trim().split('\n'),
    top.flatMap((f) => printed.get(f) ?? []),
  );
  // Every file it names exists.
  for (const [named] of doc.matchAll(/kubernetes\/[\w./-]*\w/g))
    t.ok(existsSync(path.join(ROOT, named)), `${named} exists`);
  // The thresholds it states are the templates'.
  for (const [name, passes, fails] of [
    ['success-rate', '>= 0.99', '< 0.99'],
    ['p99-latency', '<= 0.25', '> 0.25'],
  ] as const) {
    const metric = loaded.manifests
      .filter((m) => m.kind === 'AnalysisTemplate')
      .flatMap((m) => (m.body as unknown as IAnalysisTemplate).spec.metrics ?? [])
      .find((m) => m.name === name);
    t.ok(metric?.successCondition?.endsWith(`result[0] ${passes}`), `${name} passes at ${passes}`);
    t.ok(metric?.failureCondition?.endsWith(`result[0] ${fails}`), `${name} fails at ${fails}`);
    t.match(
      doc,
      new RegExp(
        `\\| \`${name}\` \\|[^\\n]*\\| \`${passes.replace(/[.]/g, '\\.')}\`( s)? \\| \`${fails.replace(/[.]/g, '\\.')}\``,
      ),
      `the table states ${name}'s thresholds`,
    );
  }
});

// ---------------------------------------------------------------------------
// Each rule rejects a broken copy of the real manifests

// The broken copies are edited past what the schema types would allow.
// biome-ignore lint/suspicious/noExplicitAny: a test edits any field of any object
type Broken = (get: (kind: string, name: string) => any) => void;

const BROKEN: Array<[string, Broken, RegExp]> = [
  [
    'selector not matching the template',
    (get) => {
      get('Rollout', 'ecadraft').spec.selector.matchLabels.app = 'ecadraft-v';
    },
    /Rollout\/ecadraft: selector app=ecadraft-v does not match its pod labels app=ecadraft,version=v1$/,
  ],
  [
    "a spread by the Deployments' hash label",
    (get) => {
      get('Rollout', 'ecadraft').spec.template.spec.topologySpreadConstraints[0].matchLabelKeys = ['pod-template-hash'];
    },
    /Rollout\/ecadraft: topologySpreadConstraints kubernetes\.io\/hostname: matchLabelKeys pod-template-hash: the pods of a Rollout carry rollouts-pod-template-hash/,
  ],
  [
    'a subset that may lose all its pods',
    (get) => {
      get('DestinationRule', 'ecadraft').spec.subsets[1].trafficPolicy.outlierDetection.maxEjectionPercent = 100;
    },
    /VirtualService\/ecadraft: spec\.http\[0\]\.route\[1\]\.destination: host ecadraft subset canary: maxEjectionPercent 100 lets Envoy eject all 2 pods/,
  ],
  [
    'a subset without outlier detection',
    (get) => {
      delete get('DestinationRule', 'ecadraft').spec.subsets[0].trafficPolicy;
    },
    /host ecadraft subset stable: no outlier detection, so a pod answering 5xx keeps its share of the traffic/,
  ],
  [
    'DestinationRule misnamed',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio.destinationRule.name = 'ecadraft-dr';
    },
    /DestinationRule ecadraft-dr is not defined here/,
  ],
  [
    'subset missing',
    (get) => {
      get('DestinationRule', 'ecadraft').spec.subsets[1].name = 'canry';
    },
    /DestinationRule\/ecadraft: has no subset canary/,
  ],
  [
    'same subset for stable and canary',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName = 'stable';
    },
    /stable and canary are both subset stable/,
  ],
  [
    'subset pinned to a version',
    (get) => {
      get('DestinationRule', 'ecadraft').spec.subsets[0].labels = { version: 'v1' };
    },
    /subset stable: label version=v1 is not one every revision of Rollout\/ecadraft carries/,
  ],
  [
    'VirtualService misnamed',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio.virtualServices[1].name =
        'ecadraft-internal';
    },
    /VirtualService ecadraft-internal is not defined here/,
  ],
  [
    'route misnamed',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio.virtualServices[0].routes = ['main'];
    },
    /HTTP route main is not found in VirtualService ecadraft/,
  ],
  [
    'route names omitted on a VirtualService with two routes',
    (get) => {
      delete get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio.virtualServices[1].routes;
      const vs = get('VirtualService', 'ecadraft-mesh');
      vs.spec.http.unshift({ name: 'header', route: [{ destination: { host: 'ecadraft', subset: 'canary' } }] });
    },
    /VirtualService ecadraft-mesh has 2 HTTP routes; name the one to split in routes/,
  ],
  [
    'both virtualService and virtualServices',
    (get) => {
      const istio = get('Rollout', 'ecadraft').spec.strategy.canary.trafficRouting.istio;
      istio.virtualService = { name: 'ecadraft' };
    },
    /sets both virtualService and virtualServices/,
  ],
  [
    'a route without the canary subset',
    (get) => {
      get('VirtualService', 'ecadraft-mesh').spec.http[0].route.pop();
    },
    /VirtualService\/ecadraft-mesh: spec\.http\[0\] \(primary\): no destination to subset canary/,
  ],
  [
    'a third destination',
    (get) => {
      get('VirtualService', 'ecadraft').spec.http[0].route.push({
        destination: { host: 'ecadraft', subset: 'v1' },
        weight: 0,
      });
    },
    /destination ecadraft\/v1 would be removed by the controller/,
  ],
  [
    'a route to another host',
    (get) => {
      get('VirtualService', 'ecadraft').spec.http[0].route[1].destination.host = 'ecadraft-v2';
    },
    /destination host ecadraft-v2 is not ecadraft/,
  ],
  [
    'starting weights not all-stable',
    (get) => {
      const route = get('VirtualService', 'ecadraft').spec.http[0].route;
      route[0].weight = 50;
      route[1].weight = 50;
    },
    /must start with all traffic on stable/,
  ],
  [
    'a step doing two things',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[2].setWeight = 20;
    },
    /steps\[2\] has pause, setWeight; a step does one thing/,
  ],
  [
    'a weight above 100',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[3].setWeight = 150;
    },
    /steps\[3\]\.setWeight 150 is not between 0 and 100/,
  ],
  [
    'no gate at 100',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[5].setWeight = 90;
    },
    /no step sets the weight to 100/,
  ],
  [
    'template misnamed',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[1].analysis.templates[0].templateName =
        'ecadraft-sucess-rate';
    },
    /steps\[1\]\.analysis: the controller cannot create the AnalysisRun: AnalysisTemplate ecadraft-sucess-rate is not defined here/,
  ],
  [
    'a required arg not passed',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[4].analysis.args.pop();
    },
    /steps\[4\]\.analysis: .*args\.stable-weight was not resolved/,
  ],
  [
    'an arg no template declares',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[1].analysis.args.push({
        name: 'canary_weight',
        value: '10',
      });
    },
    /arg canary_weight is declared by none of the templates, so the controller drops it/,
  ],
  [
    'a template using an arg it does not declare',
    (get) => {
      const metric = get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0];
      metric.provider.prometheus.query = metric.provider.prometheus.query.replace('{{args.window}}', '{{args.windw}}');
    },
    /cannot create the AnalysisRun: failed to resolve \{\{args\.windw\}\}/,
  ],
  [
    'one arg with two defaults',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-latency').spec.args[3].value = '2m';
    },
    /Argument `window` specified multiple times with different values: '1m', '2m'/,
  ],
  [
    'two metrics of one name',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0].name = 'success-rate';
    },
    /two metrics have the same name 'success-rate'/,
  ],
  [
    'a fieldRef to an annotation that is not there',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[1].analysis.args[2].valueFrom.fieldRef.fieldPath =
        "metadata.annotations['ecadraft/stable']";
    },
    /steps\[1\]\.analysis: arg stable-version resolves to an empty string/,
  ],
  [
    'a fieldRef to a field that is not there',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[1].analysis.args[1].valueFrom.fieldRef.fieldPath =
        'spec.template.metadata.labels.versoin';
    },
    /invalid path spec\.template\.metadata\.labels\.versoin in rollout/,
  ],
  [
    'weights of the split that are not those of the step',
    (get) => {
      get('Rollout', 'ecadraft').spec.strategy.canary.steps[4].analysis.args[3].value = '40';
    },
    /steps\[4\]\.analysis: metric split: container split: expects v1=50,v2=40 at weight 50, but the routes send v1=50,v2=50/,
  ],
  [
    'a release that does not apply',
    (get) => {
      get('Rollout', 'ecadraft').spec.template.spec.containers[0].name = 'app';
    },
    /the release does not apply: patch: test \/spec\/template\/spec\/containers\/0\/name failed/,
  ],
  [
    'a split Job on another image',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template.spec.containers[0].image =
        'ecadraft:0.9.0';
    },
    /image ecadraft:0\.9\.0 is not ecadraft's \(ecadraft:1\.0\.0\)/,
  ],
  [
    'a split Job running something else',
    (get) => {
      get(
        'AnalysisTemplate',
        'ecadraft-split',
      ).spec.metrics[0].provider.job.spec.template.spec.containers[0].command[1] = 'dist/cli/split.js';
    },
    /runs node dist\/cli\/split\.js, not the CLI of the image/,
  ],
  [
    'a split Job without --expect',
    (get) => {
      const command: string[] = get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template
        .spec.containers[0].command;
      command.splice(command.indexOf('--expect'), 2);
    },
    /runs no --expect, so it cannot fail/,
  ],
  [
    'a split Job with a classic sidecar',
    (get) => {
      delete get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template.metadata.annotations;
    },
    /does not ask for a native sidecar/,
  ],
  [
    'a split Job the Service selects',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template.metadata.labels.app =
        'ecadraft';
    },
    /its pod's labels are selected by Service ecadraft/,
  ],
  [
    'a split Job with a ServiceAccount that is not there',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template.spec.serviceAccountName =
        'split';
    },
    /serviceAccountName split is not a ServiceAccount defined here/,
  ],
  [
    'a split Job that restarts',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-split').spec.metrics[0].provider.job.spec.template.spec.restartPolicy =
        'Always';
    },
    /restartPolicy Always: a Job's pod must use Never or OnFailure/,
  ],
  [
    'a metric name the app does not serve',
    (get) => {
      const p = get('AnalysisTemplate', 'ecadraft-success-rate').spec.metrics[0].provider.prometheus;
      p.query = p.query.replace('ecadraft_http_requests_total', 'ecadraft_http_request_total');
    },
    /query: metric ecadraft_http_request_total is not served by \/metrics \(served: .*ecadraft_http_requests_total/,
  ],
  [
    'a label the metric does not have',
    (get) => {
      const p = get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0].provider.prometheus;
      p.query = p.query.replace('version=', 'vresion=');
    },
    /query: ecadraft_http_request_duration_seconds_bucket has no label vresion/,
  ],
  [
    'a label value the app never serves',
    (get) => {
      const p = get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0].provider.prometheus;
      p.query = p.query.replace('/|/tickets|', '/|/ticket|');
    },
    /"\/ticket" matches none of the served values/,
  ],
  [
    'a grouping by a label no metric has',
    (get) => {
      const p = get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0].provider.prometheus;
      p.query = p.query.replace('by (le)', 'by (lt)');
    },
    /groups by lt, which none of its metrics has/,
  ],
  [
    'a condition that does not parse',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-latency').spec.metrics[0].successCondition = 'result[0] <=';
    },
    /metric p99-latency: successCondition "result\[0\] <=" does not parse/,
  ],
  [
    'a count below the failure limit',
    (get) => {
      get('AnalysisTemplate', 'ecadraft-success-rate').spec.metrics[0].failureLimit = 5;
    },
    /metric success-rate: count 3 is below failureLimit \+ consecutiveSuccessLimit/,
  ],
  [
    'a count without an interval',
    (get) => {
      delete get('AnalysisTemplate', 'ecadraft-success-rate').spec.metrics[0].interval;
    },
    /metric success-rate: count 3 needs an interval/,
  ],
  [
    'a PodMonitor selecting other pods',
    (get) => {
      get('PodMonitor', 'ecadraft').spec.selector.matchLabels.app = 'ecadraft-split';
    },
    /PodMonitor\/ecadraft: selector selects no Rollout's pods/,
  ],
  [
    'a PodMonitor on a port the pods do not declare',
    (get) => {
      get('PodMonitor', 'ecadraft').spec.podMetricsEndpoints[0].port = 'metrics';
    },
    /port metrics is not a container port of Rollout\/ecadraft/,
  ],
  [
    'pods that do not tell Istio where the metrics are',
    (get) => {
      delete get('Rollout', 'ecadraft').spec.template.metadata.annotations['prometheus.io/port'];
    },
    /Rollout\/ecadraft: prometheus\.io\/port is unset, but the app serves \/metrics on 8080/,
  ],
  [
    'pods that point Istio at the wrong path',
    (get) => {
      get('Rollout', 'ecadraft').spec.template.metadata.annotations['prometheus.io/path'] = '/metric';
    },
    /Rollout\/ecadraft: prometheus\.io\/path \/metric is not the app's metrics endpoint \/metrics/,
  ],
  [
    'a hardening that does not admit the split Job',
    (get) => {
      get('AuthorizationPolicy', 'ecadraft').spec.rules[1].from[0].source.serviceAccounts = ['ecadraft-splitter'];
    },
    /steps\[1\]\.analysis: metric split: container split: runs as ServiceAccount ecadraft-split, which no AuthorizationPolicy on ecadraft's pods admits to GET \/tickets, so with the hardening every request it sends gets 403/,
  ],
  [
    'a hardening that admits a caller the manifests do not run',
    (get) => {
      get('AuthorizationPolicy', 'ecadraft').spec.rules[1].from[0].source.serviceAccounts = ['ecadraft-splitter'];
    },
    /AuthorizationPolicy\/ecadraft: spec\.rules\[1\]\.from\[0\]: admits ecadraft-splitter, which is not the gateway of these routes \(Gateway\/ecadraft-gateway\) or a ServiceAccount defined here \(ecadraft-split\)$/,
  ],
  [
    'a hardening that admits the split Job elsewhere',
    (get) => {
      get('AuthorizationPolicy', 'ecadraft').spec.rules[1].to[0].operation.paths = ['/tickets/*'];
    },
    /runs as ServiceAccount ecadraft-split, which no AuthorizationPolicy on ecadraft's pods admits to GET \/tickets,/,
  ],
  [
    'a hardening that names the split Job in one namespace',
    (get) => {
      get('AuthorizationPolicy', 'ecadraft').spec.rules[1].from[0].source.serviceAccounts = ['default/ecadraft-split'];
    },
    /spec\.rules\[1\]\.from\[0\]: admits default\/ecadraft-split, but ServiceAccount ecadraft-split runs in the namespace you apply to; name it ecadraft-split/,
  ],
];

t.test('each rule rejects a broken copy of the manifests', async (t) => {
  const context = await rolloutFacts();
  for (const [name, breakIt, expected] of BROKEN) {
    const copies = loaded.manifests.map((m) => ({ ...m, body: structuredClone(m.body) }));
    breakIt((kind, objectName) => find(copies, kind, objectName).body);
    const problems = [...(await checkManifests(copies, facts)), ...(await checkRollouts(copies, context))].map(
      formatProblem,
    );
    t.ok(
      problems.some((p) => expected.test(p)),
      name,
      { found: problems, wanted: expected },
    );
  }
});

// ---------------------------------------------------------------------------
// The pieces the checks stand on

t.test("args are substituted as Argo's template package does", async (t) => {
  const args = new Map([
    ['version', 'v2'],
    ['window', '1m'],
  ]);
  t.equal(substituteArgs('x{version="{{args.version}}"}[{{ args.window }}]', args), 'x{version="v2"}[1m]');
  t.throws(() => substituteArgs('{{args.versoin}}', args), /failed to resolve \{\{args\.versoin\}\}/);
  t.throws(() => substituteArgs('{{version}}', args), /failed to resolve \{\{version\}\}/);
  t.throws(() => substituteArgs('{{args.version', args), /cannot find end tag/);
  t.equal(substituteArgs('sum(rate(x[1m]))', args), 'sum(rate(x[1m]))');
});

t.test('conditions are judged as Argo judges them', async (t) => {
  // evaluate.EvaluateResult: the pair of conditions decides the phase.
  const verdict = (success: string, failure: string) =>
    evaluateResult([1], { successCondition: success, failureCondition: failure }).phase;
  t.equal(verdict('true', 'false'), 'Successful');
  t.equal(verdict('true', 'true'), 'Failed');
  t.equal(verdict('false', 'false'), 'Inconclusive');
  t.equal(verdict('', 'false'), 'Successful');
  t.equal(verdict('false', ''), 'Failed');
  t.equal(verdict('', ''), 'Successful');
  t.equal(evaluateResult([1], { successCondition: 'a == true', failureCondition: 'true' }).phase, 'Error');

  // expr-lang: Go's floats, precedence, short-circuit, runtime errors.
  t.equal(evalCondition([Number.NaN], 'result[0] >= 0.99'), false);
  t.equal(evalCondition([Number.NaN], 'result[0] < 0.99'), false);
  t.equal(evalCondition([Number.NaN], 'isNaN(result[0])'), true);
  t.equal(evalCondition([0.5, 2], 'result[-1] == 2 && len(result) == 2'), true);
  t.equal(evalCondition([], 'len(result) > 0 && result[0] > 1'), false, '&& does not evaluate its right side');
  t.throws(() => evalCondition([], 'result[0] > 1'), /index out of range/);
  t.equal(evalCondition(1, 'true || false && false'), true, '&& binds tighter than ||');
  t.equal(evalCondition(1, 'not (result > 0) or result * 2 == 2'), true);
  t.equal(evalCondition(5, '1 + 2 * 3 == 7 and 10 - 4 - 3 == 3'), true);
  t.equal(evalCondition(0.3, 'result <= 0.25 || result >= 0.3'), true);
  t.throws(() => evalCondition(1, '1'), /expected bool/);
  t.throws(() => evalCondition(1, 'result in [1]'), /unexpected|unsupported/);

  // The conditions of the templates here, on what Prometheus can answer.
  const metricsOf = (name: string) =>
    (find(loaded.manifests, 'AnalysisTemplate', name).body as unknown as IAnalysisTemplate).spec.metrics ?? [];
  const [successRate] = metricsOf('ecadraft-success-rate');
  const [latency] = metricsOf('ecadraft-latency');
  if (!successRate || !latency) throw new Error('the templates have no metrics');
  const phase = (metric: typeof latency, result: number[]) => evaluateResult(result, metric).phase;
  t.equal(phase(successRate, [1]), 'Successful');
  t.equal(phase(successRate, [0.99]), 'Successful');
  t.equal(phase(successRate, [0.985]), 'Failed');
  t.equal(phase(successRate, [0.8]), 'Failed');
  t.equal(phase(successRate, []), 'Inconclusive', 'no series yet');
  t.equal(phase(successRate, [Number.NaN]), 'Inconclusive', 'no requests in the window: 0/0');
  t.equal(phase(latency, [0.001]), 'Successful');
  t.equal(phase(latency, [0.25]), 'Successful');
  t.equal(phase(latency, [0.26]), 'Failed');
  t.equal(phase(latency, [Number.NaN]), 'Inconclusive');
  t.equal(phase(latency, []), 'Inconclusive');
});

t.test('a query is checked against what /metrics serves', async (t) => {
  const served = parseExposition(await servedMetrics('v2'));
  t.ok(served.get('ecadraft_http_requests_total')?.some((l) => l.status_code === '500' && l.route === '/tickets'));
  t.strictSame(
    checkQuery('sum(rate(ecadraft_http_requests_total{version="v2",route=~"/tickets|/tickets/:_id"}[1m]))', served, []),
    [],
  );
  t.strictSame(checkQuery('sum(rate(ecadraft_http_requests_total{version="v1"}[1m]))', served, []), [
    'ecadraft_http_requests_total{version="v1"}: "v1" matches none of the served values v2',
  ]);
  t.strictSame(checkQuery('up', served, []), ['has no selector of the form metric{...} to check']);
  t.strictSame(checkQuery('ecadraft_info{namespace="x"}', served, ['namespace']), []);
});
