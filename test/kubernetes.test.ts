// The Kubernetes and Istio manifests of kubernetes/, checked without a
// cluster: schemas with unknown fields rejected, cross-references and the
// rules that make the canary hold on a real cluster (per variant: sidecars
// with Istio's API, sidecars with the Gateway API, ambient mode, and the
// Argo Rollouts Rollout, whose own rules are in test/argo-rollouts.test.ts), the
// walkthrough files against the table in docs/istio.md, and `kubectl
// kustomize`. Each check is also run on a deliberately broken fixture in
// test/fixtures/kubernetes/, so none of them can pass vacuously.
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
import { loadConfig } from '../src/config.ts';
import { VERSIONS } from '../src/demo/components.ts';
import { appFacts, PACKAGE_VERSION } from './helpers/app-facts.ts';
import { type CheckOptions, checkManifests, connectionHops, type Dataplane } from './helpers/manifest-checks/index.ts';
import { routeWeights } from './helpers/manifest-checks/routing.ts';
import {
  checkPinnedReleases,
  checkProgrammedWaits,
  shownApplyOutputs,
  walkthroughTable,
} from './helpers/manifest-docs.ts';
import { applyOutputs, checkFileObjects, checkKustomization, type ExpectedObject } from './helpers/manifest-files.ts';
import {
  formatProblem,
  listManifestFiles,
  loadManifests,
  type Manifest,
  type Problem,
  validateSchema,
} from './helpers/manifests.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const packageVersion = PACKAGE_VERSION;
const FIXTURES = 'test/fixtures/kubernetes';
const ISTIO_DOC = 'docs/istio.md';
/** The releases .ci/versions.env pins; the docs install these. */
const PINNED = { istio: VERSIONS.ISTIO_VERSION!, gatewayApi: VERSIONS.GATEWAY_API_VERSION! };
const istioDoc = readFileSync(path.join(root, ISTIO_DOC), 'utf8');

// The app, as the probes would meet it (test/helpers/app-facts.ts).
const facts = appFacts(t);

/** Loads, validates and cross-checks the files as the contents of one namespace. */
async function check(
  files: readonly string[],
  dataplane: Dataplane = 'sidecar',
): Promise<{ manifests: Manifest[]; problems: Problem[] }> {
  const { manifests, problems } = loadManifests(files, root);
  for (const m of manifests) problems.push(...validateSchema(m));
  problems.push(...(await checkManifests(manifests, facts, { dataplane })));
  return { manifests, problems };
}

// ---------------------------------------------------------------------------
// What each file of kubernetes/ must hold: the walkthrough's files as the
// table in docs/istio.md lists them, then the extras. Every manifest file
// must be listed, so a new one cannot escape.

const ISTIO = 'networking.istio.io/v1';
const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const SECURITY = 'security.istio.io/v1';
const ARGO = 'argoproj.io/v1alpha1';
const service = (name: string): ExpectedObject => ({ apiVersion: 'v1', kind: 'Service', name });
const virtualServices = (...weights: Array<Record<string, number>>): ExpectedObject[] => [
  { apiVersion: ISTIO, kind: 'VirtualService', name: 'ecadraft', weights },
  { apiVersion: ISTIO, kind: 'VirtualService', name: 'ecadraft-mesh', weights },
];
const httpRoutes = (...weights: Array<Record<string, number>>): ExpectedObject[] => [
  { apiVersion: GATEWAY_API, kind: 'HTTPRoute', name: 'ecadraft', weights },
  { apiVersion: GATEWAY_API, kind: 'HTTPRoute', name: 'ecadraft-mesh', weights },
];
const waypointRoute = (...weights: Array<Record<string, number>>): ExpectedObject[] => [
  { apiVersion: GATEWAY_API, kind: 'HTTPRoute', name: 'ecadraft', weights },
];
const perVersion = <T>(make: (version: 'v1' | 'v2') => T): T[] => [make('v1'), make('v2')];

const TABLE = walkthroughTable(istioDoc);
const WALKTHROUGH: Record<string, ExpectedObject[]> = Object.fromEntries(TABLE.map((row) => [row.file, row.objects]));

const EXTRAS: Record<string, ExpectedObject[]> = {
  'kubernetes/ecadraft-virtual-service-90-10.yaml': virtualServices({ v1: 90, v2: 10 }),
  'kubernetes/ecadraft-virtual-service-header-canary.yaml': virtualServices({ v2: 100 }, { v1: 100 }),
  'kubernetes/ecadraft-virtual-service-mirror.yaml': virtualServices({ v1: 100 }),
  'kubernetes/gateway-api/gateway.yaml': [{ apiVersion: GATEWAY_API, kind: 'Gateway', name: 'ecadraft-gateway' }],
  'kubernetes/gateway-api/services.yaml': [service('ecadraft-v1'), service('ecadraft-v2')],
  'kubernetes/gateway-api/destination-rules.yaml': perVersion((v) => ({
    apiVersion: ISTIO,
    kind: 'DestinationRule',
    name: `ecadraft-${v}`,
  })),
  'kubernetes/gateway-api/sidecar.yaml': [{ apiVersion: ISTIO, kind: 'Sidecar', name: 'ecadraft' }],
  'kubernetes/gateway-api/httproute-v1.yaml': httpRoutes({ 'ecadraft-v1': 100 }),
  'kubernetes/gateway-api/httproute-90-10.yaml': httpRoutes({ 'ecadraft-v1': 90, 'ecadraft-v2': 10 }),
  'kubernetes/gateway-api/httproute-50-50.yaml': httpRoutes({ 'ecadraft-v1': 50, 'ecadraft-v2': 50 }),
  'kubernetes/gateway-api/httproute-v2.yaml': httpRoutes({ 'ecadraft-v2': 100 }),
  'kubernetes/gateway-api/httproute-header-canary.yaml': httpRoutes({ 'ecadraft-v2': 100 }, { 'ecadraft-v1': 100 }),
  'kubernetes/gateway-api/httproute-mirror.yaml': httpRoutes({ 'ecadraft-v1': 100 }),
  'kubernetes/ambient/waypoint.yaml': [{ apiVersion: GATEWAY_API, kind: 'Gateway', name: 'ecadraft-waypoint' }],
  'kubernetes/ambient/ingress.yaml': [
    { apiVersion: GATEWAY_API, kind: 'HTTPRoute', name: 'ecadraft-ingress', weights: [{ ecadraft: 100 }] },
  ],
  'kubernetes/ambient/httproute-v1.yaml': waypointRoute({ 'ecadraft-v1': 100 }),
  'kubernetes/ambient/httproute-90-10.yaml': waypointRoute({ 'ecadraft-v1': 90, 'ecadraft-v2': 10 }),
  'kubernetes/ambient/httproute-50-50.yaml': waypointRoute({ 'ecadraft-v1': 50, 'ecadraft-v2': 50 }),
  'kubernetes/ambient/httproute-v2.yaml': waypointRoute({ 'ecadraft-v2': 100 }),
  'kubernetes/ambient/httproute-header-canary.yaml': waypointRoute({ 'ecadraft-v2': 100 }, { 'ecadraft-v1': 100 }),
  'kubernetes/ambient/httproute-mirror.yaml': waypointRoute({ 'ecadraft-v1': 100 }),
  'kubernetes/hardening/peer-authentication.yaml': [
    { apiVersion: SECURITY, kind: 'PeerAuthentication', name: 'ecadraft' },
  ],
  'kubernetes/hardening/pod-disruption-budget.yaml': perVersion((v) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    name: `ecadraft-${v}`,
  })),
  'kubernetes/hardening/horizontal-pod-autoscaler.yaml': perVersion((v) => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    name: `ecadraft-${v}`,
  })),
  'kubernetes/hardening/istio-api/authorization-policy.yaml': [
    { apiVersion: SECURITY, kind: 'AuthorizationPolicy', name: 'ecadraft' },
  ],
  'kubernetes/hardening/gateway-api/authorization-policy.yaml': [
    { apiVersion: SECURITY, kind: 'AuthorizationPolicy', name: 'ecadraft' },
  ],
  'kubernetes/hardening/ambient/authorization-policy.yaml': [
    { apiVersion: SECURITY, kind: 'AuthorizationPolicy', name: 'ecadraft' },
    { apiVersion: SECURITY, kind: 'AuthorizationPolicy', name: 'ecadraft-waypoint' },
  ],
  'kubernetes/hardening/argo-rollouts/authorization-policy.yaml': [
    { apiVersion: SECURITY, kind: 'AuthorizationPolicy', name: 'ecadraft' },
  ],
  'kubernetes/argo-rollouts/analysis.yaml': [
    ...['success-rate', 'latency', 'split'].map((gate) => ({
      apiVersion: ARGO,
      kind: 'AnalysisTemplate',
      name: `ecadraft-${gate}`,
    })),
    { apiVersion: 'v1', kind: 'ServiceAccount', name: 'ecadraft-split' },
  ],
  'kubernetes/argo-rollouts/rollout.yaml': [{ apiVersion: ARGO, kind: 'Rollout', name: 'ecadraft' }],
  // All traffic on the stable subset until the controller moves the weights.
  'kubernetes/argo-rollouts/routing.yaml': [
    service('ecadraft'),
    { apiVersion: ISTIO, kind: 'Gateway', name: 'ecadraft-gateway' },
    { apiVersion: ISTIO, kind: 'DestinationRule', name: 'ecadraft' },
    ...virtualServices({ stable: 100, canary: 0 }),
  ],
  'kubernetes/argo-rollouts/prometheus-operator/pod-monitor.yaml': [
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', name: 'ecadraft' },
  ],
};
const CONTENTS = { ...WALKTHROUGH, ...EXTRAS };

const manifestFiles = listManifestFiles('kubernetes', root);
const under = (dir: string): string[] =>
  manifestFiles.filter((f) => f.startsWith(`${dir}/`) && !f.slice(dir.length + 1).includes('/'));

// ---------------------------------------------------------------------------
// The variants: what a user applies into one namespace for each.

const BOTH = ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml'];
const GATEWAY_API_BASE = [
  'kubernetes/gateway-api/gateway.yaml',
  'kubernetes/gateway-api/services.yaml',
  'kubernetes/gateway-api/destination-rules.yaml',
];

interface Variant {
  dataplane: Dataplane;
  files: string[];
  /** What the checks report for all of it, and why that is harmless. */
  expected?: string[];
  /** The steps of its walkthrough, in order, as the files present at each. */
  steps: Array<{ name: string; files: string[]; expected?: string[] }>;
}

const istioStep = (name: string) => `kubernetes/ecadraft-virtual-service-${name}.yaml`;
const gatewayStep = (name: string) => `kubernetes/gateway-api/httproute-${name}.yaml`;
const ambientStep = (name: string) => `kubernetes/ambient/httproute-${name}.yaml`;
const SIDECAR_GATEWAY = [...GATEWAY_API_BASE, 'kubernetes/gateway-api/sidecar.yaml'];
const AMBIENT_BASE = [...GATEWAY_API_BASE, 'kubernetes/ambient/waypoint.yaml', 'kubernetes/ambient/ingress.yaml'];
// With only v1 deployed, what names v2 has no pods yet: expected, and harmless
// while no route sends it traffic.
const NO_V2_YET = [
  "kubernetes/ecadraft1.yaml: DestinationRule/ecadraft: subset v2: labels version=v2 select none of Service ecadraft's pods (Deployment/ecadraft-v1 app=ecadraft,version=v1)",
];

const VARIANTS: Record<string, Variant> = {
  'istio-api': {
    dataplane: 'sidecar',
    files: [
      ...BOTH,
      ...under('kubernetes').filter((f) => f.includes('virtual-service')),
      ...under('kubernetes/hardening'),
      ...under('kubernetes/hardening/istio-api'),
    ],
    steps: [
      { name: 'v1', files: ['kubernetes/ecadraft1.yaml', istioStep('v1')], expected: NO_V2_YET },
      { name: 'v2 deployed', files: [...BOTH, istioStep('v1')] },
      { name: '50/50', files: [...BOTH, istioStep('50-50')] },
      { name: 'v2', files: [...BOTH, istioStep('v2')] },
    ],
  },
  'gateway-api': {
    dataplane: 'sidecar',
    files: [
      ...BOTH,
      ...under('kubernetes/gateway-api'),
      ...under('kubernetes/hardening'),
      ...under('kubernetes/hardening/gateway-api'),
    ],
    steps: [
      { name: 'v1', files: [...BOTH, ...SIDECAR_GATEWAY, gatewayStep('v1')] },
      { name: '50/50', files: [...BOTH, ...SIDECAR_GATEWAY, gatewayStep('50-50')] },
      { name: 'v2', files: [...BOTH, ...SIDECAR_GATEWAY, gatewayStep('v2')] },
    ],
  },
  ambient: {
    dataplane: 'ambient',
    files: [
      ...BOTH,
      ...GATEWAY_API_BASE,
      ...under('kubernetes/ambient'),
      ...under('kubernetes/hardening'),
      ...under('kubernetes/hardening/ambient'),
    ],
    steps: [
      {
        name: 'v1',
        files: ['kubernetes/ecadraft1.yaml', ...AMBIENT_BASE, ambientStep('v1')],
        expected: [
          "kubernetes/gateway-api/services.yaml: Service/ecadraft-v2: selector app=ecadraft,version=v2 selects no Deployment's or Rollout's pods",
          ...NO_V2_YET,
        ],
      },
      { name: '50/50', files: [...BOTH, ...AMBIENT_BASE, ambientStep('50-50')] },
      { name: 'v2', files: [...BOTH, ...AMBIENT_BASE, ambientStep('v2')] },
    ],
  },
  // One Rollout instead of the Deployments; the controller moves its weights.
  'argo-rollouts': {
    dataplane: 'sidecar',
    files: [
      ...under('kubernetes/argo-rollouts'),
      ...under('kubernetes/argo-rollouts/prometheus-operator'),
      ...under('kubernetes/hardening'),
      ...under('kubernetes/hardening/argo-rollouts'),
    ],
    // The common hardening is written for the Deployments. At rest the
    // Rollout runs v1 only: its v2 pods, which ecadraft-v2's budget covers,
    // exist during a release. The HPAs do nothing here (docs/argo-rollouts.md).
    expected: [
      "kubernetes/hardening/pod-disruption-budget.yaml: PodDisruptionBudget/ecadraft-v2: selector app=ecadraft,version=v2 selects no Deployment's or Rollout's pods",
      ...perVersion(
        (v) =>
          `kubernetes/hardening/horizontal-pod-autoscaler.yaml: HorizontalPodAutoscaler/ecadraft-${v}: scaleTargetRef apps/v1 Deployment/ecadraft-${v} is not a Deployment defined here`,
      ),
    ],
    steps: [{ name: 'v1', files: under('kubernetes/argo-rollouts') }],
  },
};

// ---------------------------------------------------------------------------
// The real manifests

t.test('kubernetes/ holds the walkthrough files and the extras, each one checked', async (t) => {
  t.strictSame(manifestFiles, Object.keys(CONTENTS).sort());
  const inSomeVariant = new Set(Object.values(VARIANTS).flatMap((v) => v.files));
  t.strictSame(
    manifestFiles.filter((f) => !inSomeVariant.has(f)),
    [],
    'every file belongs to a variant, so the checks see it in context',
  );
});

t.test('every document parses and matches its schema, with no unknown fields', async (t) => {
  const { manifests, problems } = loadManifests(manifestFiles, root);
  for (const m of manifests) problems.push(...validateSchema(m));
  t.strictSame(problems.map(formatProblem), []);
  t.equal(manifests.length, Object.values(CONTENTS).flat().length, 'one document per expected object');
  t.ok(manifests.every((m) => m.valid));
});

for (const [name, variant] of Object.entries(VARIANTS)) {
  t.test(`${name}: cross-references and rules hold, as one namespace`, async (t) => {
    const { problems } = await check(variant.files, variant.dataplane);
    t.strictSame(problems.map(formatProblem), variant.expected ?? []);
  });

  t.test(`${name}: each step, applied in order, refers only to what is there by then`, async (t) => {
    // A route naming something that a later step applies would fail at its
    // own step even though the variant as a whole is consistent.
    for (const step of variant.steps) {
      const { problems } = await check(step.files, variant.dataplane);
      t.strictSame(problems.map(formatProblem), step.expected ?? [], step.name);
    }
  });
}

t.test('each file holds exactly its objects, in order, and each step its weights', async (t) => {
  const { manifests } = loadManifests(manifestFiles, root);
  for (const [file, expected] of Object.entries(CONTENTS)) {
    t.strictSame(checkFileObjects(manifests, file, expected).map(formatProblem), [], file);
  }
});

t.test("docs/istio.md's table lists the five walkthrough files and what kubectl apply prints", async (t) => {
  t.strictSame(
    TABLE.map((row) => row.file),
    ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml', istioStep('v1'), istioStep('50-50'), istioStep('v2')],
  );
  const { manifests } = loadManifests(manifestFiles, root);
  const printed = applyOutputs(
    manifests,
    TABLE.map((row) => row.file),
  );
  for (const row of TABLE) {
    t.strictSame(row.output, printed.get(row.file), `${row.file}: applied in the walkthrough's order`);
    t.strictSame(
      row.output.map((line) => line.split(' ')[0]?.split('/')[1]),
      row.objects.map((o) => o.name),
      `${row.file}: one output line per object`,
    );
  }
  // Each step's output block as the walkthroughs show it: the table's for
  // its files, a first apply for the others.
  const shown = shownApplyOutputs(istioDoc);
  t.ok(shown.length >= TABLE.length, 'every walkthrough step shows its output');
  for (const block of shown) {
    const expected =
      TABLE.find((row) => row.file === block.file)?.output ?? applyOutputs(manifests, [block.file]).get(block.file);
    t.strictSame(block.output, expected, `${ISTIO_DOC} line ${block.line}: kubectl apply -f ${block.file}`);
  }
});

t.test('every step routes callers inside the mesh as it routes the gateway', async (t) => {
  const { manifests } = loadManifests(manifestFiles, root);
  const inFile = (file: string) => manifests.filter((m) => m.file === file);
  for (const file of [
    ...under('kubernetes').filter((f) => f.includes('virtual-service')),
    ...under('kubernetes/gateway-api').filter((f) => f.includes('httproute')),
  ]) {
    const [ingress, mesh] = inFile(file);
    t.ok(ingress && mesh, `${file} holds an ingress route and a mesh route`);
    const spec = (m: Manifest | undefined) => m?.body.spec as Record<string, unknown> | undefined;
    t.strictSame(spec(mesh)?.http ?? spec(mesh)?.rules, spec(ingress)?.http ?? spec(ingress)?.rules, file);
    if (mesh?.kind === 'VirtualService') t.match(spec(mesh), { hosts: ['ecadraft'], gateways: ['mesh'] });
    else t.match(spec(mesh), { parentRefs: [{ group: '', kind: 'Service', name: 'ecadraft', port: 80 }] });
  }
  for (const file of under('kubernetes/ambient').filter((f) => f.includes('httproute'))) {
    // One route, on the Service the gateway hands everything to.
    t.match(inFile(file)[0]?.body, { spec: { parentRefs: [{ group: '', kind: 'Service', name: 'ecadraft' }] } }, file);
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
  for (const file of ['kubernetes/gateway-api/httproute-header-canary.yaml', ambientStep('header-canary')])
    t.match(body(file), {
      spec: {
        rules: [
          { matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [{ name: 'ecadraft-v2' }] },
          { backendRefs: [{ name: 'ecadraft-v1' }] },
        ],
      },
    });
  for (const file of ['kubernetes/gateway-api/httproute-mirror.yaml', ambientStep('mirror')])
    t.match(body(file), {
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
  t.match(body('kubernetes/ambient/waypoint.yaml'), {
    metadata: { labels: { 'istio.io/waypoint-for': 'service' } },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ port: 15008, protocol: 'HBONE' }] },
  });
  t.match(body('kubernetes/ecadraft1.yaml'), {
    kind: 'Service',
    metadata: {
      labels: { 'istio.io/use-waypoint': 'ecadraft-waypoint', 'istio.io/ingress-use-waypoint': 'true' },
    },
    spec: { selector: { app: 'ecadraft' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
});

t.test('Envoy closes idle connections before the app does, on every hop of every variant', async (t) => {
  // The app's keep-alive, from src/, against each hop's idle timeout: where
  // the app closes first, Envoy may reuse a connection as it closes.
  const keepAlive = loadConfig({}).keepAliveTimeoutMs;
  t.equal(facts.keepAliveTimeoutMs, keepAlive);
  const expectedHops: Record<string, string[]> = {
    // From the gateway and from sidecars to each subset; inside each pod.
    'istio-api': ['ecadraft subset v1', 'ecadraft subset v2', 'in Deployment/ecadraft-v1', 'in Deployment/ecadraft-v2'],
    // To each per-version Service; inside each pod, pinned by the Sidecar.
    'gateway-api': ['ecadraft-v1', 'ecadraft-v2', 'in Deployment/ecadraft-v1', 'in Deployment/ecadraft-v2'],
    // From the gateway to the waypoint, from the waypoint to each version.
    ambient: ['ecadraft', 'ecadraft-v1', 'ecadraft-v2'],
    // To the Rollout's two subsets; inside its pods.
    'argo-rollouts': ['ecadraft subset stable', 'ecadraft subset canary', 'in Rollout/ecadraft'],
  };
  for (const [name, variant] of Object.entries(VARIANTS)) {
    const { manifests } = loadManifests(variant.files, root);
    for (const m of manifests) validateSchema(m);
    const options: CheckOptions = { dataplane: variant.dataplane };
    const hops = connectionHops(manifests, facts, options);
    const label = (description: string, m: Manifest): string =>
      description.startsWith('inside')
        ? `in ${m.kind}/${m.name}`
        : (/host (\S+(?: subset \S+)?)$/.exec(description)?.[1] ?? description);
    t.strictSame(hops.map((h) => label(h.description, h.manifest)).sort(), expectedHops[name]?.sort(), `${name}: hops`);
    for (const hop of hops) {
      t.ok(
        hop.idleTimeoutMs !== undefined && hop.idleTimeoutMs < keepAlive,
        `${name}: ${hop.manifest.kind}/${hop.manifest.name} ${hop.description}: idleTimeout ${hop.idleTimeoutMs} ms (${hop.setBy.join(', ')}) is below the app's ${keepAlive} ms keep-alive`,
      );
    }
  }
});

/**
 * The Gateway API Gateways whose Service is a LoadBalancer: Istio's default
 * for class istio (waypoints get a ClusterIP), unless the annotation says
 * otherwise.
 */
function loadBalancerGateways(manifests: readonly Manifest[]): string[] {
  return manifests
    .filter((m) => m.apiVersion === GATEWAY_API && m.kind === 'Gateway')
    .filter((m) => (m.body.spec as { gatewayClassName?: string }).gatewayClassName === 'istio')
    .filter(
      (m) =>
        ((m.body.metadata as { annotations?: Record<string, string> }).annotations?.[
          'networking.istio.io/service-type'
        ] ?? 'LoadBalancer') === 'LoadBalancer',
    )
    .map((m) => m.name);
}

t.test('docs/istio.md waits for Programmed only where it can come, and installs the CRDs Istio expects', async (t) => {
  const gateways = loadBalancerGateways(loadManifests(manifestFiles, root).manifests);
  t.strictSame(gateways, ['ecadraft-gateway'], 'the walkthrough gateway is a LoadBalancer, as real clusters want');
  t.strictSame(checkProgrammedWaits(ISTIO_DOC, istioDoc, gateways).map(formatProblem), []);
  t.strictSame(checkPinnedReleases(ISTIO_DOC, istioDoc, PINNED).map(formatProblem), []);
});

t.test('the probe paths are checked against the app itself', async (t) => {
  // The probe and scrape checks are only as good as this answer: the real
  // endpoints are served, and a path the app does not have is not.
  t.equal(await facts.serves('/readyz'), true);
  t.equal(await facts.serves('/healthz'), true);
  t.equal(await facts.serves('/metrics'), true);
  t.equal(await facts.serves('/ready'), false);
});

t.test("kustomization.yaml points the image at package.json's version", async (t) => {
  t.strictSame(checkKustomization('kubernetes/kustomization.yaml', root, packageVersion).map(formatProblem), []);
  // The Argo Rollouts variant's: the Rollout and the split Job run the image.
  t.strictSame(
    checkKustomization('kubernetes/argo-rollouts/kustomization.yaml', root, packageVersion).map(formatProblem),
    [],
  );
});

// ---------------------------------------------------------------------------
// kubectl, where it exists

const kubectlProbe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const kubectl = !kubectlProbe.error && kubectlProbe.status === 0;
const withKubectl = { skip: kubectl ? false : 'kubectl is not installed' };
const kustomize = (dir: string) => spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', cwd: root });
const docsOf = (text: string): Array<Record<string, unknown>> =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, unknown>)
    .filter((d) => d !== null);
const identity = (d: Record<string, unknown>): string =>
  `${String(d.kind)}/${String((d.metadata as { name?: string } | undefined)?.name)}`;
const byIdentity = (docs: Array<Record<string, unknown>>) =>
  [...docs].sort((a, b) => identity(a).localeCompare(identity(b)));

t.test('kubectl kustomize kubernetes/ builds ecadraft1.yaml with the image of images:', withKubectl, async (t) => {
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
  t.equal(deployment?.spec.template.spec.containers[0]?.image, `registry.example.com/team/ecadraft:${packageVersion}`);
});

t.test('kubectl kustomize fails on a broken kustomization', withKubectl, async (t) => {
  const built = kustomize(`${FIXTURES}/kustomize-broken`);
  t.not(built.status, 0);
  t.match(built.stderr, /already registered id: Service\.v1\.\[noGrp\]\/ecadraft/);
});

t.test("the kind path's annotate command makes a ClusterIP Gateway that passes the checks", withKubectl, async (t) => {
  // The command docs/istio.md gives for clusters without a load balancer.
  const command = /^kubectl annotate --local -f (\S+) (\S+)=(\S+) -o yaml \| kubectl apply -f -$/m.exec(istioDoc);
  t.ok(command, 'docs/istio.md gives the command');
  const [, file = '', key = '', value = ''] = command ?? [];
  t.equal(file, 'kubernetes/gateway-api/gateway.yaml');
  t.equal(`${key}=${value}`, 'networking.istio.io/service-type=ClusterIP');
  const out = spawnSync('kubectl', ['annotate', '--local', '-f', file, `${key}=${value}`, '-o', 'yaml'], {
    encoding: 'utf8',
    cwd: root,
  });
  t.equal(out.status, 0, out.stderr);
  const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-kind-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'gateway.yaml'), out.stdout);
  const annotated = path.relative(root, path.join(dir, 'gateway.yaml'));
  const { manifests, problems } = await check([
    ...BOTH,
    annotated,
    ...VARIANTS['gateway-api']!.files.filter(
      (f) => f.startsWith('kubernetes/gateway-api/') && !f.endsWith('gateway.yaml'),
    ),
  ]);
  t.strictSame(problems.map(formatProblem), []);
  t.match(manifests.find((m) => m.file === annotated)?.body, {
    metadata: { annotations: { 'networking.istio.io/service-type': 'ClusterIP' } },
  });
});

// ---------------------------------------------------------------------------
// Broken fixtures: each is rejected, with the file, the object and the problem

const ONE = ['kubernetes/ecadraft1.yaml'];
const ISTIO_V1 = [...BOTH, istioStep('v1')];
const GATEWAY = [...BOTH, ...SIDECAR_GATEWAY];
const GATEWAY_V1 = [...GATEWAY, gatewayStep('v1')];
const AMBIENT = [...BOTH, ...AMBIENT_BASE, ambientStep('v1')];

interface FixtureCase {
  fixture: string;
  /** Real manifests applied beside it, so that its references can resolve. */
  context: string[];
  dataplane?: Dataplane;
  /** [object, problem]: each must be reported once, for the fixture's file unless the object names its file. */
  expected: Array<[string, RegExp]>;
}

const noMeshRoute = (name: string): [string, RegExp] => [
  `VirtualService/${name}`,
  /^routes ingress traffic to ecadraft, but no VirtualService in this file binds the mesh gateway for ecadraft, so callers inside the mesh reach the versions by pod count$/,
];
const unpinned = (version: 'v1' | 'v2'): [string, RegExp] => [
  `kubernetes/ecadraft${version.slice(1)}.yaml: Deployment/ecadraft-${version}`,
  new RegExp(
    `^its pods belong to Services ecadraft, ecadraft-${version}, and Istio takes the sidecar's connections to the app from the DestinationRule of one of them, picked arbitrarily; pin them with a Sidecar's inboundConnectionPool$`,
  ),
];

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
      noMeshRoute('ecadraft'),
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
      ['PodDisruptionBudget/ecadraft-typo', /^unknown field spec\.maxUnavailble \(did you mean maxUnavailable\?\)$/],
      // The misspelt field is lost, and with it the budget's point.
      ['PodDisruptionBudget/ecadraft-typo', /^maxUnavailable unset is not 1: take one pod of a version at a time$/],
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
    expected: [
      noMeshRoute('ecadraft'),
      ['VirtualService/ecadraft', /^spec\.http\[0\]\.route: weights 50 \+ 40 add up to 90, not 100$/],
    ],
  },
  {
    fixture: 'vs-missing-subset.yaml',
    context: BOTH,
    expected: [
      noMeshRoute('ecadraft'),
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
      noMeshRoute('ecadraft'),
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
      noMeshRoute('ecadraft-internal'),
      [
        'VirtualService/ecadraft-internal',
        /^host tickets\.example\.com is not served by gateway internal-gateway \(hosts: \*\.internal\.example\.com\)$/,
      ],
    ],
  },
  {
    fixture: 'vs-mesh-routes.yaml',
    context: BOTH,
    expected: [
      [
        'VirtualService/ecadraft-everything',
        /^host \* with the mesh gateway applies these routes to every call any sidecar makes; bind mesh routes to the Service's host$/,
      ],
      [
        'VirtualService/ecadraft-mesh',
        /^routes callers inside the mesh differently from VirtualService\/ecadraft-split routes ingress traffic; both must split the same way$/,
      ],
    ],
  },
  {
    fixture: 'dr-broken.yaml',
    context: BOTH,
    expected: [
      ['DestinationRule/ecadraft-canary', /^subset canary: labels version=2 select none of Service ecadraft's pods/],
      ['DestinationRule/tickets', /^spec\.host: host tickets is not a Service defined here$/],
    ],
  },
  {
    fixture: 'dr-outlier-detection.yaml',
    context: [...BOTH, 'kubernetes/gateway-api/sidecar.yaml'],
    expected: [
      [
        'VirtualService/ecadraft-all',
        /^spec\.http\[0\]\.route\[0\]\.destination: host ecadraft-all subset v1: maxEjectionPercent 100 lets Envoy eject all 2 pods, and it then answers this destination's whole share with 503 "no healthy upstream" \(the weights do not move\); keep it below 100$/,
      ],
      [
        'VirtualService/ecadraft-all',
        /^spec\.http\[0\]\.route\[1\]\.destination: host ecadraft-all subset v2: maxEjectionPercent unset \(Envoy's 10\) lets Envoy eject none of the 2 pods, so outlier detection never acts; allow at least 50$/,
      ],
      [
        'VirtualService/ecadraft-all',
        /^spec\.http\[0\]\.mirror: host ecadraft-all subset canary: no outlier detection, so a pod answering 5xx keeps its share of the traffic$/,
      ],
      [
        'VirtualService/ecadraft-all',
        /^spec\.http\[0\]\.mirror: host ecadraft-all subset canary: idleTimeout 65 s is not below the app's 65 s keep-alive, so the app may close a connection just as Envoy reuses it$/,
      ],
    ],
  },
  {
    fixture: 'gateway-api-bare.yaml',
    context: [...BOTH, 'kubernetes/gateway-api/gateway.yaml', 'kubernetes/gateway-api/services.yaml'],
    expected: [
      ...(['v1', 'v2'] as const).flatMap(
        (v, i): Array<[string, RegExp]> => [
          [
            'HTTPRoute/ecadraft',
            new RegExp(
              `^spec\\.rules\\[0\\]\\.backendRefs\\[${i}\\]: host ecadraft-${v}: idle connections are kept for Envoy's default of 1 h \\(no connectionPool\\.http\\.idleTimeout\\), longer than the app's 65 s keep-alive$`,
            ),
          ],
          [
            'HTTPRoute/ecadraft',
            new RegExp(
              `^spec\\.rules\\[0\\]\\.backendRefs\\[${i}\\]: host ecadraft-${v}: no outlier detection, so a pod answering 5xx keeps its share of the traffic$`,
            ),
          ],
        ],
      ),
      unpinned('v1'),
      unpinned('v2'),
    ],
  },
  {
    fixture: 'service-broken.yaml',
    context: [...BOTH, 'kubernetes/gateway-api/sidecar.yaml'],
    expected: [
      ['Service/ecadraft-preview', /^selector app=ecadraft-preview selects no Deployment's or Rollout's pods$/],
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
    fixture: 'deployment-twitchy-readiness.yaml',
    context: ONE,
    expected: [
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: readinessProbe failureThreshold 1 takes the pod out of the endpoints on a single slow or failed answer; allow at least 2$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^container ecadraft: readinessProbe timeoutSeconds 1 fails an answer that takes a second through the sidecar's agent; allow at least 2$/,
      ],
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
      ['Deployment/ecadraft-v2', /^prometheus\.io\/port is 8080, but the app serves \/metrics on 9090$/],
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
        /^the sidecar's terminationDrainDuration 12 s is shorter than the app's shutdown \(up to SHUTDOWN_TIMEOUT_MS 20000 ms\)/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^terminationGracePeriodSeconds 10 does not exceed the app's shutdown .*SHUTDOWN_TIMEOUT_MS 20000 ms/,
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
      ['Deployment/ecadraft-v2', /^has no topologySpreadConstraints on kubernetes\.io\/hostname/],
      ['Deployment/ecadraft-v2', /^pods are not annotated prometheus\.io\/scrape: "true"/],
    ],
  },
  {
    fixture: 'deployment-exit-early.yaml',
    context: ONE,
    expected: [
      [
        'Deployment/ecadraft-v2',
        /^with EXIT_ON_ZERO_ACTIVE_CONNECTIONS, the sidecar may stop 2 s \(MINIMUM_DRAIN_DURATION\) after the stop signal, while the app still takes requests for SHUTDOWN_DELAY_MS 5000 ms$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^sets terminationDrainDuration, which the sidecar ignores with EXIT_ON_ZERO_ACTIVE_CONNECTIONS$/,
      ],
    ],
  },
  {
    fixture: 'deployment-spread-and-scrape.yaml',
    context: ONE,
    expected: [
      [
        'Deployment/ecadraft-v2',
        /^topologySpreadConstraints kubernetes\.io\/hostname: maxSkew 2 lets two replicas share a node while another is free$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^topologySpreadConstraints kubernetes\.io\/hostname: labelSelector app=ecadraft also counts the pods of Deployment\/ecadraft-v1, so it spreads the versions together, not each one$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^topologySpreadConstraints kubernetes\.io\/hostname: matchLabelKeys rollouts-pod-template-hash: the pods of a Deployment carry pod-template-hash, not rollouts-pod-template-hash, so the scheduler ignores it$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^topologySpreadConstraints kubernetes\.io\/hostname: with DoNotSchedule, a node cordoned for a drain still counts/,
      ],
      ['Deployment/ecadraft-v2', /^prometheus\.io\/port is 15020, but the app serves \/metrics on 8080$/],
      [
        'Deployment/ecadraft-v2',
        /^prometheus\.io\/path \/stats\/prometheus is not the app's metrics endpoint \/metrics$/,
      ],
      [
        'Deployment/ecadraft-v2',
        /^the sidecar's terminationDrainDuration \(Istio's default 5 s\) is shorter than the app's shutdown/,
      ],
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
    context: ISTIO_V1,
    expected: [
      ['PeerAuthentication/ecadraft', /^selector selects every pod in the namespace/],
      ['PeerAuthentication/ecadraft', /^mtls\.mode is PERMISSIVE; STRICT is required/],
      [
        'AuthorizationPolicy/ecadraft-open',
        /^spec\.rules\[0\]\.from\[0\]: principal \* is not one workload's identity/,
      ],
      [
        'AuthorizationPolicy/ecadraft-open',
        /^spec\.rules\[0\]\.to\[0\]: method POST is not read-only \(GET, HEAD, OPTIONS\)$/,
      ],
      ['AuthorizationPolicy/ecadraft-open', /^spec\.rules\[1\]: no from, so any caller is admitted/],
      ['AuthorizationPolicy/ecadraft-open', /^spec\.rules\[1\]\.to\[0\]: no methods, so every method is admitted/],
      [
        'AuthorizationPolicy/ecadraft-open',
        /^does not admit istio-system\/istio-ingressgateway-service-account or istio-system\/istio-ingressgateway, the gateway of these routes \(Gateway\/ecadraft-gateway\), so every request through it gets 403$/,
      ],
      ['AuthorizationPolicy/ecadraft-deny', /^selector selects every pod in the namespace/],
      ['AuthorizationPolicy/ecadraft-deny', /^action is DENY/],
      ['AuthorizationPolicy/ecadraft-deny', /^spec\.rules\[0\]\.from\[0\]: no serviceAccounts or principals/],
      ['AuthorizationPolicy/ecadraft-deny', /^spec\.rules\[0\]: no to\.operation\.methods/],
      [
        'AuthorizationPolicy/ecadraft-empty',
        /^selector app=ecadraft-preview selects no Deployment's or Rollout's pods$/,
      ],
      ['AuthorizationPolicy/ecadraft-empty', /^has no rules/],
      [
        'AuthorizationPolicy/ecadraft-waypoint',
        /^binds by targetRefs, which sidecars do not enforce \(waypoints and gateways do\), so it has no effect$/,
      ],
    ],
  },
  {
    fixture: 'hardening-wrong-gateway.yaml',
    context: GATEWAY_V1,
    expected: [
      [
        'AuthorizationPolicy/ecadraft',
        /^spec\.rules\[0\]\.from\[0\]: admits istio-system\/istio-ingressgateway-service-account, which is not the gateway of these routes \(Gateway\/ecadraft-gateway\)$/,
      ],
      [
        'AuthorizationPolicy/ecadraft',
        /^spec\.rules\[0\]\.from\[1\]: admits default\/ecadraft-gateway-istio, but the gateway of these routes \(Gateway\/ecadraft-gateway\) runs in the namespace you apply to; name it ecadraft-gateway-istio/,
      ],
      [
        'AuthorizationPolicy/ecadraft',
        /^does not admit ecadraft-gateway-istio, the gateway of these routes \(Gateway\/ecadraft-gateway\), so every request through it gets 403$/,
      ],
    ],
  },
  {
    fixture: 'pdb-broken.yaml',
    context: BOTH,
    expected: [
      ['PodDisruptionBudget/ecadraft-frozen', /^allows no disruption at all/],
      [
        'PodDisruptionBudget/ecadraft-frozen',
        /^unhealthyPodEvictionPolicy unset \(IfHealthyBudget\) counts a pod that is not ready against the budget, so a crash-looping canary blocks node drains; set AlwaysAllow$/,
      ],
      [
        'PodDisruptionBudget/ecadraft-min',
        /^minAvailable 1 lets a drain evict all pods but 1 at once \(5 of 6 when the HPA has scaled to 6\); use maxUnavailable: 1$/,
      ],
      ['PodDisruptionBudget/ecadraft-min', /^unhealthyPodEvictionPolicy IfHealthyBudget counts a pod/],
    ],
  },
  {
    fixture: 'hpa-broken.yaml',
    context: BOTH,
    expected: [
      [
        'HorizontalPodAutoscaler/ecadraft-v3',
        /^scaleTargetRef apps\/v1 Deployment\/ecadraft-v3 is not a Deployment defined here$/,
      ],
      ['HorizontalPodAutoscaler/ecadraft-v3', /^minReplicas 5 is above maxReplicas 3$/],
      [
        'HorizontalPodAutoscaler/ecadraft-v1',
        /^scales on the pods' cpu, which averages every container, the sidecar included; use a ContainerResource metric for container ecadraft$/,
      ],
      [
        'HorizontalPodAutoscaler/ecadraft-v1',
        /^scales on ephemeral-storage utilization, but container ecadraft of Deployment\/ecadraft-v1 requests no ephemeral-storage/,
      ],
      [
        'HorizontalPodAutoscaler/ecadraft-v2',
        /^minReplicas 1: a drain or a rollout would leave the version without a ready pod; keep 2$/,
      ],
      [
        'HorizontalPodAutoscaler/ecadraft-v2',
        /^minReplicas 1 differs from the replicas 2 of Deployment\/ecadraft-v2: every re-apply of the Deployment sets 2 until the HPA's next sync; keep them equal$/,
      ],
      [
        'HorizontalPodAutoscaler/ecadraft-v2',
        /^scales on container istio-proxy, which Deployment\/ecadraft-v2 does not have$/,
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
      ['HTTPRoute/ecadraft', /^routes ingress traffic to ecadraft-v1, but no HTTPRoute in this file is attached/],
    ],
  },
  {
    fixture: 'httproute-mesh-routes.yaml',
    context: GATEWAY,
    expected: [
      [
        'HTTPRoute/ecadraft-mesh',
        /^routes callers inside the mesh differently from HTTPRoute\/ecadraft routes ingress traffic; both must split the same way$/,
      ],
      ['Gateway/ecadraft-gateway-lb', /^annotation networking\.istio\.io\/service-type Internal is not a Service type/],
      ['Gateway/ecadraft-gateway-lb', /^gatewayClassName nginx is not one Istio deploys/],
    ],
  },
  {
    fixture: 'sidecar-unpinned.yaml',
    context: [...BOTH, ...GATEWAY_API_BASE, gatewayStep('v1')],
    expected: [
      ['Sidecar/ecadraft-v3', /^workloadSelector app=ecadraft,version=v3 selects no Deployment's or Rollout's pods$/],
      unpinned('v1'),
      [
        'kubernetes/ecadraft2.yaml: Deployment/ecadraft-v2',
        /^inside its pods, from the sidecar to the app: idleTimeout 90 s is not below the app's 65 s keep-alive, so the app may close a connection just as Envoy reuses it$/,
      ],
    ],
  },
  {
    fixture: 'ambient-l7-on-selector.yaml',
    context: AMBIENT,
    dataplane: 'ambient',
    expected: [
      [
        'AuthorizationPolicy/ecadraft',
        /^spec\.rules\[0\]: methods are HTTP attributes, and ztunnel drops such a rule from an ALLOW policy bound by selector; a policy left without rules denies everything, the waypoint included\. Keep this one to serviceAccounts and put the HTTP rule on the waypoint \(targetRefs\)$/,
      ],
      [
        'AuthorizationPolicy/ecadraft',
        /^spec\.rules\[0\]\.from\[0\]: admits ecadraft-gateway-istio, which is not the waypoint these pods' Services use \(ecadraft-waypoint\)$/,
      ],
      [
        'AuthorizationPolicy/ecadraft',
        /^does not admit ecadraft-waypoint, the waypoint these pods' Services use \(ecadraft-waypoint\), so every request through it gets 403$/,
      ],
      [
        'AuthorizationPolicy/ecadraft',
        /^admits the waypoint of Service ecadraft, but no policy on that waypoint \(targetRefs\) restricts who calls through it and how/,
      ],
    ],
  },
  {
    fixture: 'ambient-broken.yaml',
    context: [...BOTH, ...GATEWAY_API_BASE],
    dataplane: 'ambient',
    expected: [
      [
        'Gateway/ecadraft-waypoint',
        /^listener http: a waypoint listens on port 15008 with protocol HBONE, not 80 HTTP$/,
      ],
      ['Gateway/ecadraft-waypoint', /^label istio\.io\/waypoint-for workload does not take service traffic/],
      [
        'Service/ecadraft-elsewhere',
        /^label istio\.io\/use-waypoint names other-waypoint, which is not a waypoint Gateway defined here/,
      ],
      [
        'HTTPRoute/ecadraft',
        /^spec\.parentRefs\[0\]: Service ecadraft-v1 uses no waypoint defined here \(label istio\.io\/use-waypoint\), so in ambient mode nothing applies this route$/,
      ],
      ['HTTPRoute/ecadraft', /^spec\.rules\[0\]\.backendRefs: weights 60 \+ 30 add up to 90, not 100$/],
      [
        'HTTPRoute/ecadraft-ingress',
        /^spec\.rules\[0\]\.backendRefs\[0\]: Service ecadraft-bound is not labelled istio\.io\/ingress-use-waypoint: "true", so the gateway sends to its pods directly, past the waypoint's routes and policy$/,
      ],
      [
        'HTTPRoute/ecadraft-ingress',
        /^spec\.rules\[0\]\.backendRefs\[0\]: no HTTPRoute is attached to Service ecadraft-bound, so its waypoint sends to its pods by count$/,
      ],
      [
        'HTTPRoute/ecadraft-ingress',
        /^spec\.rules\[0\]\.backendRefs\[0\]: host ecadraft-bound: its endpoints are the waypoint ecadraft-waypoint, not the pods; outlier detection here ejects the waypoint when the app answers 5xx/,
      ],
      [
        'AuthorizationPolicy/ecadraft-nowhere',
        /^spec\.targetRefs\[0\]: Service ecadraft-v1 uses no waypoint defined here, so nothing enforces this policy$/,
      ],
      [
        'AuthorizationPolicy/ecadraft-nowhere',
        /^spec\.rules\[0\]\.from\[0\]: admits ecadraft-gateway-istio, which is not the gateway of these routes \(none routes here\)$/,
      ],
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
    // An object of another file (one the fixture leaves wrong) is named with its file.
    const prefix = object.includes(': ') ? `${object}: ` : `${file}: ${object}: `;
    const i = remaining.findIndex((line) => line.startsWith(prefix) && message.test(line.slice(prefix.length)));
    t.ok(i >= 0, `reports ${prefix}${message.source}`, { found: lines });
    if (i >= 0) remaining.splice(i, 1);
  }
  t.strictSame(remaining, [], 'and nothing else');
}

for (const c of CASES) {
  t.test(`rejects ${FIXTURES}/${c.fixture}`, async (t) => {
    const file = `${FIXTURES}/${c.fixture}`;
    const { problems } = await check([...c.context, file], c.dataplane);
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
    ['VirtualService/ecadraft-mesh', /^routes \[60 to v1, 40 to v2\]; this step must route \[50 to v1, 50 to v2\]$/],
  ]);
  t.strictSame(routeWeights(manifests.find((m) => m.file === file) as Manifest), [{ v1: 60, v2: 40 }]);
});

t.test('rejects docs that wait for Programmed where it never comes, or install other CRDs', async (t) => {
  const waits = `${FIXTURES}/docs-wait-programmed.md`;
  const gateways = loadBalancerGateways(loadManifests(manifestFiles, root).manifests);
  assertRejected(t, checkProgrammedWaits(waits, readFileSync(path.join(root, waits), 'utf8'), gateways), waits, [
    ['line 9', /^waits for condition=programmed, which stays False \(AddressNotAssigned\)/],
  ]);
  const crds = `${FIXTURES}/docs-gateway-api-crds.md`;
  const pinned = { istio: '1.32.0', gatewayApi: '1.6.3' };
  assertRejected(t, checkPinnedReleases(crds, readFileSync(path.join(root, crds), 'utf8'), pinned), crds, [
    ['line 6', /^installs the Gateway API CRDs v1\.2\.1, not v1\.6\.3, the release the tests check against$/],
    ['line 9', /^names Istio 1\.27, outside the supported 1\.30, 1\.31, 1\.32$/],
    ['line 12', /^installs the Gateway API CRDs v1\.3\.0, not v1\.6\.3/],
    ['line 18', /^istioctl install without --set tag=1\.32\.0$/],
    ['line 19', /^helm install of an Istio chart without --version 1\.32\.0$/],
    ['line 20', /^helm install of istio\/gateway with --wait, which waits for a load balancer address/],
    ['document', /^does not say it installs Istio 1\.32\.0$/],
  ]);
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
