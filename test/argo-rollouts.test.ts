// kubernetes/argo-rollouts/, checked without a cluster. Its schemas and the
// rules every variant meets (pods, routing, traffic policy, hardening) are
// checked with the other variants in test/kubernetes.test.ts; here: the
// Rollout's pod template against the Deployments', the release patches, the
// routing objects against the walkthrough's, the docs against the files, and
// the shared rules the Rollout leans on, each shown to reject a broken copy of
// the real manifests. What the Argo Rollouts controller and Prometheus make of
// them is tested on the real ones (test/real/cluster-*.test.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { IAnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import t from 'tap';
import { appFacts } from './helpers/app-facts.ts';
import { checkManifests } from './helpers/manifest-checks/index.ts';
import { formatProblem, listManifestFiles, loadManifests, type Manifest, validateSchema } from './helpers/manifests.ts';
import { ROOT } from './helpers/process.ts';
import {
  ARGO_ROLLOUTS_DIR,
  applyJsonPatch,
  type PatchOperation,
  readRelease,
  templateDifferences,
} from './helpers/rollout-files.ts';

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
const facts = appFacts(t);
const releaseFile = (name: string): PatchOperation[] => readRelease(ROOT, name);

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

t.test('the rules every workload meets hold for these files alone', async (t) => {
  // The baseline of the broken copies below.
  t.strictSame((await checkManifests(loaded.manifests, facts)).map(formatProblem), []);
});

t.test('docs/argo-rollouts.md shows what these files do', async (t) => {
  const doc = readFileSync(path.join(ROOT, 'docs/argo-rollouts.md'), 'utf8');
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
    'a hardening that admits a caller the manifests do not run',
    (get) => {
      get('AuthorizationPolicy', 'ecadraft').spec.rules[1].from[0].source.serviceAccounts = ['ecadraft-splitter'];
    },
    /AuthorizationPolicy\/ecadraft: spec\.rules\[1\]\.from\[0\]: admits ecadraft-splitter, which is not the gateway of these routes \(Gateway\/ecadraft-gateway\) or a ServiceAccount defined here \(ecadraft-split\)$/,
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
  for (const [name, breakIt, expected] of BROKEN) {
    const copies = loaded.manifests.map((m) => ({ ...m, body: structuredClone(m.body) }));
    breakIt((kind, objectName) => find(copies, kind, objectName).body);
    const problems = (await checkManifests(copies, facts)).map(formatProblem);
    t.ok(
      problems.some((p) => expected.test(p)),
      name,
      { found: problems, wanted: expected },
    );
  }
});
