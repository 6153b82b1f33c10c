// The Kubernetes and Istio manifests of kubernetes/, checked without a cluster
// (shared/spec/kubernetes.md, "Checked without a cluster"): schemas with
// unknown fields rejected, cross-references, the walkthrough files' contents,
// and `kubectl kustomize`. Each check is also run on a deliberately broken
// fixture in test/fixtures/kubernetes/, so none of them can pass vacuously.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { appFacts, PACKAGE_VERSION } from './helpers/app-facts.ts';
import {
  checkFileObjects,
  checkKustomization,
  checkManifests,
  type ExpectedObject,
  formatProblem,
  listManifestFiles,
  loadManifests,
  type Manifest,
  type Problem,
  routeWeights,
  validateSchema,
} from './helpers/manifests.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageVersion = PACKAGE_VERSION;
const FIXTURES = 'test/fixtures/kubernetes';

// The app, as the probes would meet it (test/helpers/app-facts.ts).
const facts = appFacts(t);

/** Loads, validates and cross-checks the files as the contents of one namespace. */
async function check(files: readonly string[]): Promise<{ manifests: Manifest[]; problems: Problem[] }> {
  const { manifests, problems } = loadManifests(files, root);
  for (const m of manifests) problems.push(...validateSchema(m));
  problems.push(...(await checkManifests(manifests, facts)));
  return { manifests, problems };
}

// ---------------------------------------------------------------------------
// What each file of kubernetes/ must hold (the walkthrough's table, then the
// extras). Every manifest file must be listed, so a new one cannot escape.

const ISTIO = 'networking.istio.io/v1';
const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const service = (name: string): ExpectedObject => ({ apiVersion: 'v1', kind: 'Service', name });
const virtualService = (...weights: Array<Record<string, number>>): ExpectedObject[] => [
  { apiVersion: ISTIO, kind: 'VirtualService', name: 'ecadraft', weights },
];
const httpRoute = (...weights: Array<Record<string, number>>): ExpectedObject[] => [
  { apiVersion: GATEWAY_API, kind: 'HTTPRoute', name: 'ecadraft', weights },
];

const WALKTHROUGH: Record<string, ExpectedObject[]> = {
  'kubernetes/ecadraft1.yaml': [
    service('ecadraft'),
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ecadraft-v1' },
    { apiVersion: ISTIO, kind: 'Gateway', name: 'ecadraft-gateway' },
    { apiVersion: ISTIO, kind: 'DestinationRule', name: 'ecadraft' },
  ],
  'kubernetes/ecadraft2.yaml': [
    service('ecadraft'),
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ecadraft-v2' },
  ],
  'kubernetes/ecadraft-virtual-service-v1.yaml': virtualService({ v1: 100 }),
  'kubernetes/ecadraft-virtual-service-50-50.yaml': virtualService({ v1: 50, v2: 50 }),
  'kubernetes/ecadraft-virtual-service-v2.yaml': virtualService({ v2: 100 }),
};

const EXTRAS: Record<string, ExpectedObject[]> = {
  'kubernetes/ecadraft-virtual-service-90-10.yaml': virtualService({ v1: 90, v2: 10 }),
  'kubernetes/ecadraft-virtual-service-header-canary.yaml': virtualService({ v2: 100 }, { v1: 100 }),
  'kubernetes/ecadraft-virtual-service-mirror.yaml': virtualService({ v1: 100 }),
  'kubernetes/gateway-api/gateway.yaml': [{ apiVersion: GATEWAY_API, kind: 'Gateway', name: 'ecadraft-gateway' }],
  'kubernetes/gateway-api/services.yaml': [service('ecadraft-v1'), service('ecadraft-v2')],
  'kubernetes/gateway-api/httproute-v1.yaml': httpRoute({ 'ecadraft-v1': 100 }),
  'kubernetes/gateway-api/httproute-90-10.yaml': httpRoute({ 'ecadraft-v1': 90, 'ecadraft-v2': 10 }),
  'kubernetes/gateway-api/httproute-50-50.yaml': httpRoute({ 'ecadraft-v1': 50, 'ecadraft-v2': 50 }),
  'kubernetes/gateway-api/httproute-v2.yaml': httpRoute({ 'ecadraft-v2': 100 }),
  'kubernetes/gateway-api/httproute-header-canary.yaml': httpRoute({ 'ecadraft-v2': 100 }, { 'ecadraft-v1': 100 }),
  'kubernetes/gateway-api/httproute-mirror.yaml': httpRoute({ 'ecadraft-v1': 100 }),
  'kubernetes/hardening/peer-authentication.yaml': [
    { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', name: 'ecadraft' },
  ],
  'kubernetes/hardening/authorization-policy.yaml': [
    { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', name: 'ecadraft' },
  ],
  'kubernetes/hardening/pod-disruption-budget.yaml': [
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: 'ecadraft-v1' },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: 'ecadraft-v2' },
  ],
  'kubernetes/hardening/horizontal-pod-autoscaler.yaml': [
    { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'ecadraft-v1' },
    { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'ecadraft-v2' },
  ],
};
const CONTENTS = { ...WALKTHROUGH, ...EXTRAS };

// kubernetes/argo-rollouts/ replaces the Deployments and the walkthrough's
// subsets with a Rollout's: test/argo-rollouts.test.ts checks it on its own.
const manifestFiles = listManifestFiles('kubernetes', root).filter((f) => !f.startsWith('kubernetes/argo-rollouts/'));

// ---------------------------------------------------------------------------
// The real manifests

t.test('kubernetes/ holds the walkthrough files and the extras, each one checked', async (t) => {
  t.strictSame(manifestFiles, Object.keys(CONTENTS).sort());
});

t.test('every document parses and matches its schema, with no unknown fields', async (t) => {
  const { manifests, problems } = loadManifests(manifestFiles, root);
  for (const m of manifests) problems.push(...validateSchema(m));
  t.strictSame(problems.map(formatProblem), []);
  t.equal(manifests.length, Object.values(CONTENTS).flat().length, 'one document per expected object');
  t.ok(manifests.every((m) => m.valid));
});

t.test('cross-references hold, as istioctl analyze would see them', async (t) => {
  const { problems } = await check(manifestFiles);
  t.strictSame(problems.map(formatProblem), []);
});

t.test('each walkthrough step, applied in order, refers only to what is there by then', async (t) => {
  // A VirtualService naming something that a later step applies would fail
  // at its own step even though the directory as a whole is consistent.
  const steps: Array<[string, string[], string[]]> = [
    // With only v1 deployed, subset v2 has no pods yet: expected, and
    // harmless while no route sends it traffic.
    [
      'v1',
      ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft-virtual-service-v1.yaml'],
      [
        "kubernetes/ecadraft1.yaml: DestinationRule/ecadraft: subset v2: labels version=v2 select none of Service ecadraft's pods (Deployments: ecadraft-v1 app=ecadraft,version=v1)",
      ],
    ],
    [
      'v2 deployed',
      ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml', 'kubernetes/ecadraft-virtual-service-v1.yaml'],
      [],
    ],
    [
      '50/50',
      ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml', 'kubernetes/ecadraft-virtual-service-50-50.yaml'],
      [],
    ],
    [
      'v2',
      ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml', 'kubernetes/ecadraft-virtual-service-v2.yaml'],
      [],
    ],
  ];
  for (const [step, files, expected] of steps) {
    const { problems } = await check(files);
    t.strictSame(problems.map(formatProblem), expected, step);
  }
});

t.test('each file holds exactly its objects, in order, and each step its weights', async (t) => {
  const { manifests } = loadManifests(manifestFiles, root);
  for (const [file, expected] of Object.entries(CONTENTS)) {
    t.strictSame(checkFileObjects(manifests, file, expected).map(formatProblem), [], file);
  }
});

t.test('the extra steps route as their names say', async (t) => {
  const { manifests } = loadManifests(manifestFiles, root);
  const body = (file: string): Record<string, unknown> => {
    const m = manifests.find((x) => x.file === file);
    if (!m) throw new Error(`${file} not loaded`);
    return m.body;
  };
  t.match(body('kubernetes/ecadraft-virtual-service-header-canary.yaml'), {
    spec: {
      http: [
        { match: [{ headers: { 'x-canary': { exact: 'true' } } }], route: [{ destination: { subset: 'v2' } }] },
        { route: [{ destination: { subset: 'v1' } }] },
      ],
    },
  });
  t.notOk(
    (body('kubernetes/ecadraft-virtual-service-header-canary.yaml') as { spec: { http: Array<{ match?: unknown }> } })
      .spec.http[1]?.match,
    'the fallback rule matches everyone',
  );
  t.match(body('kubernetes/ecadraft-virtual-service-mirror.yaml'), {
    spec: {
      http: [
        {
          route: [{ destination: { subset: 'v1' } }],
          mirror: { host: 'ecadraft', subset: 'v2' },
          mirrorPercentage: { value: 100 },
        },
      ],
    },
  });
  t.match(body('kubernetes/gateway-api/httproute-header-canary.yaml'), {
    spec: {
      rules: [
        { matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [{ name: 'ecadraft-v2' }] },
        { backendRefs: [{ name: 'ecadraft-v1' }] },
      ],
    },
  });
  t.match(body('kubernetes/gateway-api/httproute-mirror.yaml'), {
    spec: {
      rules: [
        {
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'ecadraft-v2', port: 80 } } }],
          backendRefs: [{ name: 'ecadraft-v1' }],
        },
      ],
    },
  });
  t.match(body('kubernetes/gateway-api/gateway.yaml'), { spec: { gatewayClassName: 'istio' } });
  t.match(body('kubernetes/ecadraft1.yaml'), {
    kind: 'Service',
    spec: { selector: { app: 'ecadraft' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
});

t.test('the probe paths are checked against the app itself', async (t) => {
  // The probe check is only as good as this answer: the real endpoints are
  // served, and a path the app does not have is not.
  t.equal(await facts.serves('/readyz'), true);
  t.equal(await facts.serves('/healthz'), true);
  t.equal(await facts.serves('/ready'), false);
});

t.test("kustomization.yaml points the image at package.json's version", async (t) => {
  t.strictSame(checkKustomization('kubernetes/kustomization.yaml', root, packageVersion).map(formatProblem), []);
});

// ---------------------------------------------------------------------------
// kubectl kustomize, where kubectl exists

const kubectlProbe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const kubectl = !kubectlProbe.error && kubectlProbe.status === 0;
const kustomize = (dir: string) => spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', cwd: root });
const docsOf = (text: string): Array<Record<string, unknown>> =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown>)
    .filter((d) => d !== null);
const identity = (d: Record<string, unknown>): string =>
  `${String(d.kind)}/${String((d.metadata as { name?: string } | undefined)?.name)}`;
const byIdentity = (docs: Array<Record<string, unknown>>) =>
  [...docs].sort((a, b) => identity(a).localeCompare(identity(b)));

t.test(
  'kubectl kustomize kubernetes/ builds ecadraft1.yaml with the image of images:',
  { skip: kubectl ? false : 'kubectl is not installed' },
  async (t) => {
    const built = kustomize('kubernetes/');
    t.equal(built.status, 0, built.stderr);
    const expected = docsOf(readFileSync(path.join(root, 'kubernetes/ecadraft1.yaml'), 'utf8'));
    t.strictSame(byIdentity(docsOf(built.stdout)), byIdentity(expected));

    // The user's case: the same kustomization, pointed at a registry.
    const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-kustomize-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(path.join(root, 'kubernetes/ecadraft1.yaml'), path.join(dir, 'ecadraft1.yaml'));
    const kustomization = readFileSync(path.join(root, 'kubernetes/kustomization.yaml'), 'utf8');
    t.match(kustomization, /^ {4}newName: ecadraft$/m);
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      kustomization.replace(/^ {4}newName: ecadraft$/m, '    newName: registry.example.com/team/ecadraft'),
    );
    const pushed = kustomize(dir);
    t.equal(pushed.status, 0, pushed.stderr);
    const deployment = docsOf(pushed.stdout).find((d) => d.kind === 'Deployment') as
      | { spec: { template: { spec: { containers: Array<{ image: string }> } } } }
      | undefined;
    t.equal(
      deployment?.spec.template.spec.containers[0]?.image,
      `registry.example.com/team/ecadraft:${packageVersion}`,
    );
  },
);

t.test(
  'kubectl kustomize fails on a broken kustomization',
  { skip: kubectl ? false : 'kubectl is not installed' },
  async (t) => {
    const built = kustomize(`${FIXTURES}/kustomize-broken`);
    t.not(built.status, 0);
    t.match(built.stderr, /already registered id: Service\.v1\.\[noGrp\]\/ecadraft/);
  },
);

// ---------------------------------------------------------------------------
// Broken fixtures: each is rejected, with the file, the object and the problem

const ONE = ['kubernetes/ecadraft1.yaml'];
const BOTH = ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml'];
const GATEWAY = [...BOTH, 'kubernetes/gateway-api/gateway.yaml', 'kubernetes/gateway-api/services.yaml'];

interface FixtureCase {
  fixture: string;
  /** Real manifests applied beside it, so that its references can resolve. */
  context: string[];
  /** [object, problem]: each must be reported once for the fixture's file. */
  expected: Array<[string, RegExp]>;
}

const CASES: FixtureCase[] = [
  {
    fixture: 'unparseable.yaml',
    context: [],
    expected: [
      ['document 1', /^YAML: Map keys must be unique at line 7/],
      ['document 2', /^a manifest must be a mapping$/],
      ['document 3', /^missing kind$/],
    ],
  },
  {
    fixture: 'removed-api.yaml',
    context: [],
    expected: [
      ['Deployment/ecadraft-v1', /^apiVersion extensions\/v1beta1 kind Deployment is not one of the current APIs/],
    ],
  },
  {
    fixture: 'vs-weigth-typo.yaml',
    context: BOTH,
    expected: [
      ['VirtualService/ecadraft', /^unknown field spec\.http\[0\]\.route\[0\]\.weigth \(did you mean weight\?\)$/],
      ['VirtualService/ecadraft', /^unknown field spec\.http\[0\]\.route\[1\]\.weigth \(did you mean weight\?\)$/],
      ['VirtualService/ecadraft', /^spec\.http\[0\]\.route: every destination needs a weight when there are several$/],
    ],
  },
  {
    fixture: 'unknown-fields.yaml',
    context: GATEWAY,
    expected: [
      ['Service/ecadraft-typo', /^unknown field spec\.ports\[0\]\.protocl \(did you mean protocol\?\)$/],
      ['PodDisruptionBudget/ecadraft-typo', /^unknown field spec\.minAvailble \(did you mean minAvailable\?\)$/],
      [
        'HTTPRoute/ecadraft-typo',
        /^unknown field spec\.rules\[0\]\.backendRefs\[0\]\.weigth \(did you mean weight\?\)$/,
      ],
      ['HTTPRoute/ecadraft-typo', /^unknown field spec\.hostname \(did you mean hostnames\?\)$/],
    ],
  },
  {
    fixture: 'vs-schema-types.yaml',
    context: BOTH,
    expected: [
      ['VirtualService/ecadraft', /^schema: spec\.hosts must be array$/],
      ['VirtualService/ecadraft', /^schema: spec\.http\[0\]\.route\[0\]\.weight must be integer$/],
    ],
  },
  {
    fixture: 'vs-weights-90.yaml',
    context: BOTH,
    expected: [['VirtualService/ecadraft', /^spec\.http\[0\]\.route: weights 50 \+ 40 add up to 90, not 100$/]],
  },
  {
    fixture: 'vs-missing-subset.yaml',
    context: BOTH,
    expected: [
      [
        'VirtualService/ecadraft',
        /^spec\.http\[0\]\.route\[1\]\.destination: subset v3 is not defined for host ecadraft in any DestinationRule \(subsets: v1, v2\)$/,
      ],
      ['VirtualService/ecadraft', /^spec\.http\[0\]\.mirror: subset v3 is not defined for host ecadraft/],
    ],
  },
  {
    fixture: 'vs-unknown-references.yaml',
    context: BOTH,
    expected: [
      [
        'VirtualService/ecadraft',
        /^gateway ecadraft-gw is not a Gateway defined here \(Istio Gateways: ecadraft-gateway\)$/,
      ],
      [
        'VirtualService/ecadraft',
        /^spec\.http\[0\]\.route\[0\]\.destination: host ecadraft-svc is not a Service defined here$/,
      ],
      ['VirtualService/ecadraft', /^spec\.http\[0\]\.route\[1\]\.destination: Service ecadraft has no port 8080$/],
    ],
  },
  {
    fixture: 'vs-host-not-on-gateway.yaml',
    context: BOTH,
    expected: [
      [
        'VirtualService/ecadraft-internal',
        /^host tickets\.example\.com is not served by gateway internal-gateway \(hosts: \*\.internal\.example\.com\)$/,
      ],
    ],
  },
  {
    fixture: 'dr-broken.yaml',
    context: BOTH,
    expected: [
      ['DestinationRule/ecadraft-canary', /^has no trafficPolicy\.outlierDetection/],
      ['DestinationRule/ecadraft-canary', /^subset canary: labels version=2 select none of Service ecadraft's pods/],
      ['DestinationRule/tickets', /^spec\.host: host tickets is not a Service defined here$/],
    ],
  },
  {
    fixture: 'service-broken.yaml',
    context: BOTH,
    expected: [
      ['Service/ecadraft-preview', /^selector app=ecadraft-preview selects no Deployment's pods$/],
      ['Service/ecadraft-web', /^port web: name "web" does not tell Istio the protocol/],
      [
        'Service/ecadraft-web',
        /^port web: targetPort 8000 is not a container port of Deployment\/ecadraft-v1 \(ports: http=8080\)$/,
      ],
      ['Service/ecadraft-web', /^port web: targetPort 8000 is not a container port of Deployment\/ecadraft-v2/],
      [
        'Service/ecadraft-web',
        /^port http-admin: targetPort "admin" is not a container port of Deployment\/ecadraft-v1/,
      ],
      [
        'Service/ecadraft-web',
        /^port http-admin: targetPort "admin" is not a container port of Deployment\/ecadraft-v2/,
      ],
      ['Service/ecadraft-external', /^has no selector/],
    ],
  },
  {
    fixture: 'service-changed.yaml',
    context: BOTH,
    expected: [['Service/ecadraft', /^differs from the Service\/ecadraft in kubernetes\/ecadraft1\.yaml/]],
  },
  {
    fixture: 'namespaced.yaml',
    context: BOTH,
    expected: [['DestinationRule/ecadraft-elsewhere', /^sets metadata\.namespace tickets/]],
  },
  {
    fixture: 'deployment-version-mismatch.yaml',
    context: ONE,
    expected: [
      ['Deployment/ecadraft-v2', /^container ecadraft: env VERSION=v1 does not match the pod's version label v2$/],
    ],
  },
  {
    fixture: 'deployment-image-tag.yaml',
    context: ONE,
    expected: [
      [
        'Deployment/ecadraft-v2',
        new RegExp(
          `^container ecadraft: image ecadraft:0\\.9\\.0 has tag 0\\.9\\.0, but package\\.json's version is ${packageVersion.replaceAll('.', '\\.')}$`,
        ),
      ],
    ],
  },
  {
    fixture: 'deployment-bad-probes.yaml',
    context: ONE,
    expected: [
      ['Deployment/ecadraft-v2', /^container ecadraft: readinessProbe uses \/ready; it must be \/readyz$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: readinessProbe path \/ready is not served by the app/],
      ['Deployment/ecadraft-v2', /^container ecadraft: livenessProbe port 9090 is not a port of this container$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: has no startupProbe$/],
    ],
  },
  {
    fixture: 'deployment-wrong-port.yaml',
    context: ONE,
    expected: [
      ['Deployment/ecadraft-v2', /^container ecadraft: container port http is 8080, but the app listens on 9090$/],
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: readinessProbe port "http" is 8080, but the app listens on 9090$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: livenessProbe port "http" is 8080, but the app listens on 9090$/,
      ],
      ['Deployment/ecadraft-v2', /^container ecadraft: startupProbe port "http" is 8080, but the app listens on 9090$/],
    ],
  },
  {
    fixture: 'deployment-bad-env.yaml',
    context: ONE,
    expected: [
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: the app would refuse to start with this env: .*SHUTDOWN_DELAY_MS.*soon/,
      ],
    ],
  },
  {
    fixture: 'deployment-unsafe.yaml',
    context: ONE,
    expected: [
      ['Deployment/ecadraft-v2', /^selector does not include the version label/],
      ['Deployment/ecadraft-v2', /^selector app=ecadraft also selects the pods of Deployment\/ecadraft-v1$/],
      ['Deployment/ecadraft-v2', /^rollingUpdate\.maxUnavailable is 1; it must be 0/],
      ['Deployment/ecadraft-v2', /^container ecadraft: env VERSION is not set/],
      [
        'Deployment/ecadraft-v2',
        /^the sidecar's terminationDrainDuration 12 s does not fit in terminationGracePeriodSeconds 10$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: the sidecar's terminationDrainDuration 12 s is shorter than the app's shutdown \(up to SHUTDOWN_TIMEOUT_MS 20000 ms\)/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: terminationGracePeriodSeconds 10 does not exceed the app's shutdown .*SHUTDOWN_TIMEOUT_MS 20000 ms/,
      ],
      ['Deployment/ecadraft-v2', /^container ecadraft: livenessProbe is not an httpGet probe$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: sets no cpu limit$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: sets no memory limit$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: runAsNonRoot is not true$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: runAsUser is 0; it must be a numeric non-root user$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: allowPrivilegeEscalation is not false$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: runs privileged$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: readOnlyRootFilesystem is not true$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: does not drop ALL capabilities$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: adds capabilities NET_ADMIN$/],
      ['Deployment/ecadraft-v2', /^container ecadraft: seccompProfile is unset; it must be RuntimeDefault$/],
    ],
  },
  {
    fixture: 'deployment-labels.yaml',
    context: BOTH,
    expected: [
      [
        'Deployment/ecadraft-canary',
        /^selector app=ecadraft-canary,version=canary does not match its pod labels app=ecadraft-canary$/,
      ],
      ['Deployment/ecadraft-canary', /^pod template has no version label/],
      ['Deployment/ecadraft-canary', /^strategy Recreate takes every pod away at once/],
      [
        'Deployment/ecadraft-canary',
        /^container ecadraft: env VERSION=v2 does not match the pod's version label \(none\)$/,
      ],
      [
        'Deployment/ecadraft-canary',
        /^container ecadraft: has no container port named http \(the app listens on 8080\)$/,
      ],
    ],
  },
  {
    fixture: 'deployment-empty.yaml',
    context: BOTH,
    expected: [
      ['Deployment/ecadraft-nothing', /^has no spec$/],
      ['Deployment/ecadraft-no-pod-spec', /^pod template has no spec$/],
      ['Deployment/ecadraft-no-containers', /^has no containers$/],
    ],
  },
  {
    fixture: 'hardening-broken.yaml',
    context: BOTH,
    expected: [
      ['PeerAuthentication/ecadraft', /^selector selects every pod in the namespace/],
      ['PeerAuthentication/ecadraft', /^mtls\.mode is PERMISSIVE; STRICT is required/],
      ['AuthorizationPolicy/ecadraft-open', /^spec\.rules\[0\]\.from\[0\]: principal \* is not the ingress gateway/],
      [
        'AuthorizationPolicy/ecadraft-open',
        /^spec\.rules\[0\]\.to\[0\]: method POST is not read-only \(GET, HEAD, OPTIONS\)$/,
      ],
      ['AuthorizationPolicy/ecadraft-open', /^spec\.rules\[1\]: no from, so any caller is admitted/],
      ['AuthorizationPolicy/ecadraft-open', /^spec\.rules\[1\]\.to\[0\]: no methods, so every method is admitted/],
      ['AuthorizationPolicy/ecadraft-deny', /^selector selects every pod in the namespace/],
      ['AuthorizationPolicy/ecadraft-deny', /^action is DENY/],
      ['AuthorizationPolicy/ecadraft-deny', /^spec\.rules\[0\]\.from\[0\]: no principals/],
      ['AuthorizationPolicy/ecadraft-deny', /^spec\.rules\[0\]: no to\.operation\.methods/],
      ['AuthorizationPolicy/ecadraft-empty', /^selector app=ecadraft-preview selects no Deployment's pods$/],
      ['AuthorizationPolicy/ecadraft-empty', /^has no rules/],
      ['PodDisruptionBudget/ecadraft-frozen', /^allows no disruption at all/],
      ['PodDisruptionBudget/ecadraft-all', /^minAvailable 2 is not below the 2 replicas of Deployment\/ecadraft-v2/],
      [
        'HorizontalPodAutoscaler/ecadraft-v3',
        /^scaleTargetRef apps\/v1 Deployment\/ecadraft-v3 is not a Deployment defined here$/,
      ],
      ['HorizontalPodAutoscaler/ecadraft-v3', /^minReplicas 5 is above maxReplicas 3$/],
      [
        'HorizontalPodAutoscaler/ecadraft-v1',
        /^scales on ephemeral-storage utilization, but container ecadraft of Deployment\/ecadraft-v1 requests no ephemeral-storage/,
      ],
    ],
  },
  {
    fixture: 'httproute-broken.yaml',
    context: GATEWAY,
    expected: [
      ['HTTPRoute/ecadraft', /^spec\.parentRefs\[0\]: Gateway ecadraft-gw is not defined here/],
      ['HTTPRoute/ecadraft', /^spec\.parentRefs\[1\]: Gateway ecadraft-gateway has no listener https$/],
      ['HTTPRoute/ecadraft', /^spec\.rules\[0\]\.backendRefs\[0\]: Service ecadraft-v1 has no port 8080$/],
      ['HTTPRoute/ecadraft', /^spec\.rules\[0\]\.backendRefs\[1\]: host ecadraft-v3 is not a Service defined here$/],
      [
        'HTTPRoute/ecadraft',
        /^spec\.rules\[0\]\.filters\[0\]\.requestMirror\.backendRef: a Service backend needs a port$/,
      ],
      ['HTTPRoute/ecadraft', /^spec\.rules\[0\]\.backendRefs: weights 90 \+ 20 add up to 110, not 100$/],
    ],
  },
];

type Assertions = Pick<typeof t, 'ok' | 'strictSame'>;

function assertRejected(
  t: Assertions,
  problems: readonly Problem[],
  file: string,
  expected: FixtureCase['expected'],
): void {
  const lines = problems.map(formatProblem);
  const remaining = [...lines];
  for (const [object, message] of expected) {
    const prefix = `${file}: ${object}: `;
    const i = remaining.findIndex((line) => line.startsWith(prefix) && message.test(line.slice(prefix.length)));
    t.ok(i >= 0, `reports ${prefix}${message.source}`, { found: lines });
    if (i >= 0) remaining.splice(i, 1);
  }
  t.strictSame(remaining, [], 'and nothing else');
}

for (const c of CASES) {
  t.test(`rejects ${FIXTURES}/${c.fixture}`, async (t) => {
    const file = `${FIXTURES}/${c.fixture}`;
    const { problems } = await check([...c.context, file]);
    assertRejected(t, problems, file, c.expected);
  });
}

t.test("the packages' own validate() lets these misspellings through", async (t) => {
  // Why the unknown-field check exists: on their own, the schema packages
  // accept every fixture above that only misspells a field.
  for (const fixture of ['vs-weigth-typo.yaml', 'unknown-fields.yaml']) {
    const { manifests } = loadManifests([`${FIXTURES}/${fixture}`], root);
    t.ok(manifests.length > 0);
    for (const m of manifests) {
      const model = { VirtualService, Service, PodDisruptionBudget, HTTPRoute }[
        m.kind as 'VirtualService' | 'Service' | 'PodDisruptionBudget' | 'HTTPRoute'
      ];
      t.doesNotThrow(() => new model(m.body as never).validate(), `${fixture}: ${m.kind}/${m.name}`);
    }
  }
});

t.test('rejects a walkthrough file with its objects out of order', async (t) => {
  const file = `${FIXTURES}/ecadraft1-wrong-order.yaml`;
  const { manifests } = loadManifests([file], root);
  const expected = WALKTHROUGH['kubernetes/ecadraft1.yaml'] ?? [];
  assertRejected(t, checkFileObjects(manifests, file, expected), file, [
    [
      'Service/ecadraft',
      /^holds .*DestinationRule\/ecadraft \(networking\.istio\.io\/v1\), Gateway\/ecadraft-gateway .*; expected exactly .*Gateway\/ecadraft-gateway \(networking\.istio\.io\/v1\), DestinationRule\/ecadraft .*, in that order$/,
    ],
  ]);
});

t.test('rejects a traffic step with the wrong weights', async (t) => {
  const file = `${FIXTURES}/virtual-service-50-50-uneven.yaml`;
  const { manifests, problems } = await check([...BOTH, file]);
  t.strictSame(problems.map(formatProblem), [], 'valid in itself');
  const expected = WALKTHROUGH['kubernetes/ecadraft-virtual-service-50-50.yaml'] ?? [];
  assertRejected(t, checkFileObjects(manifests, file, expected), file, [
    ['VirtualService/ecadraft', /^routes \[60 to v1, 40 to v2\]; this step must route \[50 to v1, 50 to v2\]$/],
  ]);
  t.strictSame(routeWeights(manifests.find((m) => m.file === file) as Manifest), [{ v1: 60, v2: 40 }]);
});

t.test('rejects kustomizations that cannot serve a registry image', async (t) => {
  const broken = `${FIXTURES}/kustomize-broken/kustomization.yaml`;
  assertRejected(t, checkKustomization(broken, root, packageVersion), broken, [
    ['Kustomization/kustomize-broken', /^resource missing\.yaml does not exist$/],
    [
      'Kustomization/kustomize-broken',
      new RegExp(
        `^images: ecadraft newTag 0\\.9\\.0 is not package\\.json's version ${packageVersion.replaceAll('.', '\\.')}$`,
      ),
    ],
  ]);
  const noImages = `${FIXTURES}/kustomize-no-images/kustomization.yaml`;
  assertRejected(t, checkKustomization(noImages, root, packageVersion), noImages, [
    ['Kustomization/kustomize-no-images', /^has no images: entry for ecadraft/],
  ]);
});

t.test('Envoy closes idle upstream connections before the app does', async (t) => {
  const { SERVER_TIMEOUTS } = await import('../src/app.ts');
  const rule = parseAllDocuments(readFileSync(new URL('../kubernetes/ecadraft1.yaml', import.meta.url), 'utf8'))
    .map((d) => d.toJS())
    .find((d) => d?.kind === 'DestinationRule');
  const idle = /^(\d+)s$/.exec(rule?.spec?.trafficPolicy?.connectionPool?.http?.idleTimeout ?? '');
  t.ok(idle, 'the DestinationRule sets an upstream idle timeout in seconds');
  t.ok(
    Number(idle?.[1]) * 1000 < SERVER_TIMEOUTS.keepAliveTimeout,
    `idleTimeout ${idle?.[1]}s is shorter than the app's keep-alive timeout (${SERVER_TIMEOUTS.keepAliveTimeout} ms)`,
  );
});
