// The Helm chart in charts/ecadraft, with the real Helm (.ci/tools.sh builds
// it): `helm lint --strict`; `helm template` of every set of values the docs
// give, each object through the same offline schema and cross-reference
// checks as kubernetes/ (test/kubernetes.test.ts); the same objects as
// kubernetes/ for the same choices, compared as parsed objects, every
// intended difference named with its reason; the schema's refusals; the test
// hook and the notes; `helm package`; the values table of the chart's README.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { parse as parseYaml } from 'yaml';
import { VARIABLES } from '../../src/config.ts';
import { VERSION_NAMES } from '../../src/versions.ts';
import { appFacts, PACKAGE_VERSION } from '../helpers/app-facts.ts';
import {
  CHART,
  HELM_LABELS,
  type Helm,
  helmIn,
  helmScenarios,
  helmTable,
  objectKey,
  parseRendered,
  type Release,
  replay,
  valuesTable,
} from '../helpers/helm.ts';
import { checkManifests, type Dataplane } from '../helpers/manifest-checks/index.ts';
import { loadManifests, type Manifest, type Problem, validateSchema } from '../helpers/manifests.ts';
import { ROOT, startServer } from '../helpers/process.ts';
import { needTools } from '../helpers/tools.ts';

t.test('the chart, with the real Helm', async (t) => {
  const tools = needTools(t, 'helm');
  if (tools) await suite(t, helmIn(t, tools.helm));
});

type Body = Record<string, unknown>;
type Objects = Map<string, Body>;

async function suite(t: Test, helm: Helm): Promise<void> {
  const facts = appFacts(t);
  const chartReadme = readFileSync(path.join(ROOT, CHART, 'README.md'), 'utf8');
  const istioDoc = readFileSync(path.join(ROOT, 'docs/istio.md'), 'utf8');

  /** `helm template` of each release, without the test hook, as one namespace's manifests. */
  const render = (releases: readonly Release[], extra: string[] = ['--skip-tests']): Manifest[] => {
    const result = { manifests: [] as Manifest[], problems: [] as Problem[] };
    for (const release of releases) {
      const run = helm('template', release.name, CHART, ...release.flags, ...extra);
      if (run.status !== 0) throw new Error(`helm template ${release.name} ${release.flags.join(' ')}: ${run.stderr}`);
      parseRendered(run.stdout, result);
    }
    if (result.problems.length > 0) throw new Error(result.problems.map((p) => p.message).join('\n'));
    return result.manifests;
  };

  /** Schema, unknown fields and cross-references, as test/kubernetes.test.ts checks kubernetes/. */
  const problemsOf = async (manifests: Manifest[], dataplane: Dataplane = 'sidecar'): Promise<string[]> => {
    const problems = manifests.flatMap((m) => validateSchema(m));
    problems.push(...(await checkManifests(manifests, facts, { dataplane })));
    // The file differs between the two (template or kubernetes/ file): the object and the problem do not.
    return problems.map((p) => `${p.object}: ${p.message}`);
  };

  /** kubectl apply of each file in turn: an object replaces an earlier one of the same identity. */
  const appliedManifests = (files: readonly string[]): Manifest[] => [
    ...new Map(loadManifests(files, ROOT).manifests.map((m) => [objectKey(m), m])).values(),
  ];
  const applied = (files: readonly string[]): Objects =>
    new Map(appliedManifests(files).map((m) => [objectKey(m), structuredClone(m.body)]));

  /** The chart's objects with Helm's labels taken off (each must carry them all). */
  const withoutHelmLabels = (t: Test, manifests: readonly Manifest[]): Objects => {
    const objects: Objects = new Map();
    for (const m of manifests) {
      const body = structuredClone(m.body);
      const metadata = body.metadata as { labels?: Record<string, string> };
      const labels = metadata.labels ?? {};
      t.strictSame(
        HELM_LABELS.filter((label) => labels[label] === undefined),
        [],
        `${objectKey(m)} carries Helm's standard labels`,
      );
      for (const label of HELM_LABELS) delete labels[label];
      if (Object.keys(labels).length === 0) delete metadata.labels;
      objects.set(objectKey(m), body);
    }
    return objects;
  };

  const sorted = (objects: Objects) => Object.fromEntries([...objects].sort(([a], [b]) => a.localeCompare(b)));

  // ---------------------------------------------------------------------------

  t.test('helm lint --strict passes for each kind of release', async (t) => {
    for (const flags of [
      [],
      ['--set', 'version=v2', '--set', 'routing.enabled=false'],
      [
        '--set',
        'routing.api=gateway-api',
        '--set',
        'hardening.enabled=true',
        '--set',
        'metrics.podMonitor.enabled=true',
      ],
    ]) {
      const run = helm('lint', '--strict', CHART, ...flags);
      t.equal(run.status, 0, `${flags.join(' ')}: ${run.stdout}${run.stderr}`);
      t.match(run.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  t.test("the chart's version and appVersion are package.json's, and so is the default image tag", async (t) => {
    const chart = parseYaml(readFileSync(path.join(ROOT, CHART, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
    t.equal(chart.appVersion, PACKAGE_VERSION);
    t.equal(chart.version, PACKAGE_VERSION);
    const deployment = render([{ name: 'ecadraft-v1', flags: [] }]).find((m) => m.kind === 'Deployment');
    t.match(deployment?.body, {
      spec: { template: { spec: { containers: [{ image: `ecadraft:${PACKAGE_VERSION}` }] } } },
    });
  });

  // -------------------------------------------------------------------------
  // One source of truth: the chart renders kubernetes/'s objects

  const BOTH = ['kubernetes/ecadraft1.yaml', 'kubernetes/ecadraft2.yaml'];
  const vs = (step: string) => `kubernetes/ecadraft-virtual-service-${step}.yaml`;
  const route = (step: string) => `kubernetes/gateway-api/httproute-${step}.yaml`;
  const GATEWAY_API = ['gateway.yaml', 'services.yaml', 'destination-rules.yaml', 'sidecar.yaml'].map(
    (f) => `kubernetes/gateway-api/${f}`,
  );
  const HARDENING = ['peer-authentication.yaml', 'pod-disruption-budget.yaml', 'horizontal-pod-autoscaler.yaml'].map(
    (f) => `kubernetes/hardening/${f}`,
  );
  const set = (...pairs: string[]) => pairs.flatMap((pair) => ['--set', pair]);
  const v1 = (...flags: string[]): Release => ({ name: 'ecadraft-v1', flags });
  const v2 = (...flags: string[]): Release => ({
    name: 'ecadraft-v2',
    flags: [...set('version=v2', 'routing.enabled=false'), ...flags],
  });

  /** A deliberate difference between the chart and kubernetes/: how it changes kubernetes/'s objects, and why. */
  interface Difference {
    why: string;
    change(objects: Objects): void;
  }
  const deployments = (objects: Objects) =>
    [...objects]
      .filter(([key]) => key.startsWith('apps Deployment '))
      .map(([, body]) => body as unknown as DeploymentBody);

  const noIstioApiInGatewayApi: Difference = {
    why: "kubectl's Gateway API walkthrough applies ecadraft1.yaml whole, bringing the Istio Gateway and DestinationRule ecadraft along unused; the chart's gateway-api routing leaves them out",
    change(objects) {
      objects.delete('networking.istio.io Gateway ecadraft-gateway');
      objects.delete('networking.istio.io DestinationRule ecadraft');
    },
  };
  const noReplicasUnderHpa: Difference = {
    why: 'with an HPA the chart leaves replicas out of the Deployment, so that a helm upgrade never resets what the HPA chose (re-applying kubernetes/ sets 2 until its next sync)',
    change(objects) {
      for (const d of deployments(objects)) delete d.spec.replicas;
    },
  };
  const testAccountAdmitted: Difference = {
    why: "with the hardening, the policy admits helm test's service account for GET /tickets, as the Argo Rollouts policy admits its split Job",
    change(objects) {
      const policy = objects.get('security.istio.io AuthorizationPolicy ecadraft') as { spec: { rules: unknown[] } };
      policy.spec.rules.push({
        from: [{ source: { serviceAccounts: ['ecadraft-test'] } }],
        to: [{ operation: { methods: ['GET'], paths: ['/tickets'] } }],
      });
    },
  };

  interface Case {
    name: string;
    kubectl: string[];
    releases: Release[];
    differences?: Difference[];
  }

  /** A step file of kubernetes/ and the routing value that renders it, with each API. */
  const routes = (step: string, value: string): Case[] => [
    { name: `istio ${step}`, kubectl: [...BOTH, vs(step)], releases: [v1(...set(value)), v2()] },
    {
      name: `gateway-api ${step}`,
      kubectl: [...BOTH, ...GATEWAY_API, route(step)],
      releases: [v1(...set('routing.api=gateway-api', value)), v2()],
      differences: [noIstioApiInGatewayApi],
    },
  ];

  const CASES: Case[] = [
    ...routes('v1', 'routing.canaryWeight=0'),
    ...routes('90-10', 'routing.canaryWeight=10'),
    ...routes('50-50', 'routing.canaryWeight=50'),
    ...routes('v2', 'routing.canaryWeight=100'),
    ...routes('header-canary', 'routing.strategy=header-canary'),
    ...routes('mirror', 'routing.strategy=mirror'),
    ...['istio-api', 'gateway-api'].map(
      (variant): Case => ({
        name: `${variant} hardened`,
        kubectl: [
          ...BOTH,
          ...(variant === 'istio-api' ? [vs('v1')] : [...GATEWAY_API, route('v1')]),
          ...HARDENING,
          `kubernetes/hardening/${variant}/authorization-policy.yaml`,
        ],
        releases: [
          v1(
            ...set('hardening.enabled=true', 'autoscaling.enabled=true', 'podDisruptionBudget.enabled=true'),
            ...(variant === 'gateway-api' ? set('routing.api=gateway-api') : []),
          ),
          v2(...set('autoscaling.enabled=true', 'podDisruptionBudget.enabled=true')),
        ],
        differences: [
          ...(variant === 'gateway-api' ? [noIstioApiInGatewayApi] : []),
          noReplicasUnderHpa,
          testAccountAdmitted,
        ],
      }),
    ),
    {
      name: 'PodMonitor',
      kubectl: [...BOTH, vs('v1'), 'kubernetes/argo-rollouts/prometheus-operator/pod-monitor.yaml'],
      releases: [v1(...set('metrics.podMonitor.enabled=true')), v2()],
    },
    {
      name: 'an image from a registry, 3 replicas, more settings',
      kubectl: [...BOTH, vs('v1')],
      releases: [
        ...[v1, v2].map((release) =>
          release(
            ...set(
              'image.repository=registry.example.com/team/ecadraft',
              'image.pullPolicy=Always',
              'imagePullSecrets[0].name=regcred',
              'replicas=3',
              'env.TICKET_COUNT=1000000',
              'env.LOG_LEVEL=debug',
              'env.FAULT_ERROR_RATE=0.25',
            ),
          ),
        ),
      ],
      differences: [
        {
          why: 'these values do what kubectl set image, kubectl set env and kubectl scale do to the files',
          change(objects) {
            for (const d of deployments(objects)) {
              d.spec.replicas = 3;
              d.spec.template.spec.imagePullSecrets = [{ name: 'regcred' }];
              const [container] = d.spec.template.spec.containers;
              container.image = `registry.example.com/team/ecadraft:${PACKAGE_VERSION}`;
              container.imagePullPolicy = 'Always';
              // After VERSION and PORT, the settings in the order of their names.
              const [version, port, ...settings] = container.env;
              settings.push(
                { name: 'TICKET_COUNT', value: '1000000' },
                { name: 'LOG_LEVEL', value: 'debug' },
                { name: 'FAULT_ERROR_RATE', value: '0.25' },
              );
              settings.sort((a, b) => a.name.localeCompare(b.name));
              container.env = [version!, port!, ...settings];
            }
          },
        },
      ],
    },
  ];

  for (const c of CASES) {
    t.test(`${c.name}: the chart renders kubernetes/'s objects, and they pass its checks`, async (t) => {
      const rendered = render(c.releases);
      const expected = applied(c.kubectl);
      for (const difference of c.differences ?? []) {
        difference.change(expected);
        t.comment(`on purpose: ${difference.why}`);
      }
      t.strictSame(sorted(withoutHelmLabels(t, rendered)), sorted(expected));
      // With the test hook, whose service account the hardening admits, as `helm test` runs it.
      t.strictSame(await problemsOf(render(c.releases, [])), await problemsOf(appliedManifests(c.kubectl)), 'checks');
    });
  }

  t.test("docs/istio.md's Helm steps hold the objects of the kubectl steps beside them", async (t) => {
    const rows = helmTable(istioDoc);
    t.equal(rows.length, 4, 'the four steps that apply something');
    const states = replay(rows.map((row) => row.helm));
    const files: string[] = [];
    for (const [i, row] of rows.entries()) {
      files.push(...row.kubectl);
      const expected = applied(files);
      const rendered = render(states[i] ?? []);
      t.strictSame(sorted(withoutHelmLabels(t, rendered)), sorted(expected), row.step);
      t.strictSame(
        await problemsOf(render(states[i] ?? [], [])),
        await problemsOf(appliedManifests(files)),
        `${row.step}: checks`,
      );
    }
    const cleanup = /`(helm uninstall [^`]+)`/.exec(istioDoc.slice(istioDoc.indexOf('## The same steps with Helm')));
    t.strictSame(replay([cleanup?.[1] ?? ''], states.at(-1)).at(-1), [], 'the clean-up removes every release');
  });

  t.test("every helm command of the chart's README renders objects that pass the checks", async (t) => {
    const scenarios = helmScenarios(chartReadme);
    t.ok(scenarios.length >= 4, `${scenarios.length} scenarios`);
    let rendered = 0;
    for (const scenario of scenarios) {
      for (const [i, state] of replay(scenario).entries()) {
        const manifests = render(state, []);
        const problems = await problemsOf(manifests);
        // With only v1 deployed, subset v2 names no pods yet: harmless while no route sends it traffic.
        const noV2Yet =
          /^DestinationRule\/ecadraft: subset v2: labels version=v2 select none|^Service\/ecadraft-v2: selector app=ecadraft,version=v2 selects no/;
        const onlyV1 = !manifests.some((m) => m.kind === 'Deployment' && m.name === 'ecadraft-v2');
        t.strictSame(
          problems.filter((p) => !(onlyV1 && noV2Yet.test(p))),
          [],
          scenario[i] ?? '',
        );
        rendered++;
      }
    }
    t.ok(rendered >= 10, `${rendered} states rendered`);
  });

  // -------------------------------------------------------------------------
  // What the schema refuses

  t.test('values.schema.json refuses values that cannot work, naming the value', async (t) => {
    const refused: Array<[string[], RegExp]> = [
      [set('replicas=-1'), /at '\/replicas': minimum: got -1, want 0/],
      [set('version=v3'), /at '\/version': value must be one of 'v1', 'v2'/],
      [set('routing.canaryWeight=101'), /at '\/routing\/canaryWeight': maximum: got 101, want 100/],
      [set('routing.canaryWeight=-1'), /at '\/routing\/canaryWeight': minimum: got -1, want 0/],
      [set('routing.canaryWeight=half'), /at '\/routing\/canaryWeight': got string, want integer/],
      [set('routing.strategy=mirror', 'routing.canaryWeight=10'), /at '\/routing\/canaryWeight': value must be 0/],
      [set('routing.api=ambient'), /at '\/routing\/api': value must be one of 'istio', 'gateway-api'/],
      [set('env.TICKET_COUNT=0'), /at '\/env\/TICKET_COUNT': minimum: got 0, want 1/],
      [set('env.TICKET_COUNTS=5'), /at '\/env': additional properties 'TICKET_COUNTS' not allowed/],
      [set('env.VERSION=v2'), /at '\/env': additional properties 'VERSION' not allowed/],
      [set('env.LOG_LEVEL=loud'), /at '\/env\/LOG_LEVEL': value must be one of 'fatal'/],
      [set('env.FAULT_ERROR_RATE=1.5'), /at '\/env\/FAULT_ERROR_RATE': '1.5' does not match pattern/],
      [set('replica=3'), /additional properties 'replica' not allowed/],
    ];
    for (const [flags, message] of refused) {
      const run = helm('template', 'ecadraft-v1', CHART, ...flags);
      t.not(run.status, 0, `${flags.join(' ')} is refused`);
      t.match(run.stderr, /values don't meet the specifications of the schema/);
      t.match(run.stderr, message, flags.join(' '));
      t.equal(run.stdout, '', 'nothing rendered');
    }
    // The edges are accepted.
    for (const flags of [set('replicas=0'), set('routing.canaryWeight=0'), set('routing.canaryWeight=100')])
      t.equal(helm('template', 'ecadraft-v1', CHART, ...flags).status, 0, flags.join(' '));
  });

  t.test("the schema's settings are the app's, with its bounds", async (t) => {
    const schema = JSON.parse(readFileSync(path.join(ROOT, CHART, 'values.schema.json'), 'utf8')) as {
      properties: {
        version: { enum: string[] };
        env: { properties: Record<string, { minimum?: number; maximum?: number; enum?: string[] }> };
      };
    };
    t.strictSame(schema.properties.version.enum, [...VERSION_NAMES]);
    const settings = Object.values(VARIABLES).filter((v) => v.name !== 'VERSION' && v.name !== 'PORT');
    t.strictSame(Object.keys(schema.properties.env.properties).sort(), settings.map((v) => v.name).sort());
    for (const variable of settings) {
      const property = schema.properties.env.properties[variable.name];
      const range = /from (\d+) to (\d+)|at most (\d+)/.exec(variable.accepts);
      if (range?.[1] !== undefined)
        t.match(property, { minimum: Number(range[1]), maximum: Number(range[2]) }, variable.name);
      if (range?.[3] !== undefined) t.match(property, { maximum: Number(range[3]) }, variable.name);
      if (variable.accepts.startsWith('one of'))
        t.strictSame(property?.enum, variable.accepts.slice('one of '.length).split(', '), variable.name);
    }
    // Each setting's default, given as the chart would pass it, is one the app takes.
    const values = parseYaml(readFileSync(path.join(ROOT, CHART, 'values.yaml'), 'utf8')) as { env: Body };
    const env = Object.fromEntries(Object.entries(values.env).map(([k, v]) => [k, String(v)]));
    t.doesNotThrow(() => facts.config(env));
  });

  // -------------------------------------------------------------------------
  // helm test, the notes, the package

  t.test('the test hook runs ecadraft split --expect at the routing release weights', async (t) => {
    for (const [flags, expect] of [
      [[], 'v1=100'],
      [set('routing.canaryWeight=10'), 'v1=90,v2=10'],
      [set('routing.canaryWeight=50', 'routing.strategy=header-canary'), 'v1=50,v2=50'],
      [set('routing.canaryWeight=100'), 'v2=100'],
      [set('routing.strategy=mirror'), 'v1=100'],
    ] as Array<[string[], string]>) {
      const manifests = render([v1(...flags)], []).filter((m) => m.file.includes('/templates/tests/'));
      for (const m of manifests) t.strictSame(validateSchema(m), [], `${objectKey(m)} matches its schema`);
      const pod = manifests.find((m) => m.kind === 'Pod')?.body as {
        spec: { containers: Array<{ command: string[] }> };
      };
      t.strictSame(
        pod?.spec.containers[0]?.command,
        [
          'node',
          'dist/cli/ecadraft.js',
          'split',
          '--requests',
          '200',
          '--expect',
          expect,
          '--confidence',
          '0.999',
          'http://ecadraft/tickets',
        ],
        flags.join(' ') || 'defaults',
      );
      t.match(pod, {
        metadata: { annotations: { 'helm.sh/hook': 'test' } },
        spec: { serviceAccountName: 'ecadraft-test' },
      });
    }
    t.strictSame(
      render([v2()], []).filter((m) => m.file.includes('/templates/tests/')),
      [],
      'only the routing release, which knows the weights, has a test',
    );
  });

  t.test("the test hook's command, run against v1 alone, passes at v1=100 and fails at 50/50", async (t) => {
    // What the pod would run, against a v1 process in place of the mesh's Service ecadraft.
    const server = await startServer(t, { VERSION: 'v1' });
    const hook = async (...flags: string[]) => {
      const pod = render([v1(...flags)], []).find((m) => m.kind === 'Pod')?.body as {
        spec: { containers: Array<{ command: string[] }> };
      };
      const [node, script = '', ...args] = pod.spec.containers[0]?.command ?? [];
      t.equal(node, 'node');
      const url = args.pop()?.replace('http://ecadraft', server.url);
      return promisify(execFile)(process.execPath, [path.join(ROOT, script), ...args, url ?? ''], { cwd: ROOT }).then(
        () => 0,
        (error: { code?: number }) => error.code,
      );
    };
    t.equal(await hook(), 0, 'v1=100: v1 answers everything');
    t.equal(await hook(...set('routing.canaryWeight=50')), 1, 'v1=50,v2=50: v2 never answers');
  });

  t.test('the notes say how to reach the service and run ecadraft split', async (t) => {
    const notes = (...flags: string[]) => {
      const run = helm('install', 'ecadraft-v1', CHART, '--dry-run=client', ...flags);
      t.equal(run.status, 0, run.stderr);
      return run.stdout.slice(run.stdout.indexOf('NOTES:'));
    };
    const istio = notes('--set', 'routing.canaryWeight=10');
    t.match(istio, 'v1 90%, v2 10%');
    t.match(istio, 'ecadraft split --expect v1=90,v2=10 "http://$GATEWAY_URL/tickets"');
    t.match(istio, 'helm test ecadraft-v1');
    t.match(istio, 'istio-ingressgateway');
    const gatewayApi = notes(...set('routing.api=gateway-api', 'routing.gatewayApi.serviceType=ClusterIP'));
    t.match(gatewayApi, 'kubectl port-forward -n default svc/ecadraft-gateway-istio 8080:80 &');
    t.match(gatewayApi, 'ecadraft split --expect v1=100 "http://$GATEWAY_URL/tickets"');
    t.match(notes(...set('routing.canaryWeight=100')), 'ecadraft split --expect v2=100 ');
    t.match(
      notes(...set('version=v2', 'routing.enabled=false')),
      'The routes are owned by the release with routing.enabled=true',
    );
  });

  t.test('helm package makes the chart that renders the same objects', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-package-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const run = helm('package', CHART, '--destination', dir);
    t.equal(run.status, 0, run.stderr);
    const archive = path.join(dir, `ecadraft-${PACKAGE_VERSION}.tgz`);
    t.strictSame(readdirSync(dir), [path.basename(archive)]);
    const shown = helm('show', 'chart', archive);
    t.match(parseYaml(shown.stdout), { name: 'ecadraft', version: PACKAGE_VERSION, appVersion: PACKAGE_VERSION });
    const fromArchive = helm('template', 'ecadraft-v1', archive, '--set', 'routing.canaryWeight=50');
    const fromDirectory = helm('template', 'ecadraft-v1', CHART, '--set', 'routing.canaryWeight=50');
    t.equal(fromArchive.status, 0, fromArchive.stderr);
    t.equal(fromArchive.stdout, fromDirectory.stdout);
    // The schema travels with it.
    t.match(helm('template', 'ecadraft-v1', archive, '--set', 'replicas=-1').stderr, /at '\/replicas'/);
  });

  t.test("the chart README's values table is values.yaml's, and every value is in it", async (t) => {
    const valuesYaml = readFileSync(path.join(ROOT, CHART, 'values.yaml'), 'utf8');
    const rows = valuesTable(valuesYaml);
    const start = chartReadme.indexOf('<!-- values:start -->');
    const end = chartReadme.indexOf('<!-- values:end -->');
    const shown = chartReadme
      .slice(start, end)
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    t.strictSame(shown, rows, 'paste the expected rows between the values markers');
    const documented = rows.map((row) => /^\| `([^`]+)`/.exec(row)?.[1] ?? '');
    const leaves = (value: unknown, prefix: string): string[] =>
      value !== null && typeof value === 'object' && !Array.isArray(value) && !documented.includes(prefix)
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    t.strictSame(
      leaves(parseYaml(valuesYaml), '').filter((leaf) => !documented.includes(leaf)),
      [],
      'every value documented',
    );
  });
}

// ---------------------------------------------------------------------------

interface DeploymentBody {
  spec: {
    replicas?: number;
    template: {
      spec: {
        imagePullSecrets?: Array<{ name: string }>;
        containers: [{ image: string; imagePullPolicy: string; env: Array<{ name: string; value: string }> }];
      };
    };
  };
}
