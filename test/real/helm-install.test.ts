// The chart installed for real: docs/istio.md's Helm steps (`helm install`,
// `helm upgrade` from v1 through 50/50 to v2) run by the real Helm against
// the local control plane (test/cluster/), in a fresh namespace. At each step
// the API server holds what `helm template` renders for the same values, the
// releases' pods run through the pod runner with the command and env the
// chart rendered (their real /readyz made them Ready), and `ecadraft split
// --expect` finds each version's pods answering as that version; the
// VirtualServices route as the kubectl steps beside them in the docs would
// have left them. Then an upgrade of v2's release with more replicas and a
// setting rolls its pods, and the releases uninstall. There is no mesh data
// plane here: the weights are checked as the API server holds them, and `helm
// test` (which measures them through the mesh) is left out.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { VARIABLES } from '../../src/config.ts';
import { POD_ADDRESS_ANNOTATION } from '../cluster/control-plane.ts';
import type { KubeObject } from '../cluster/kube-api.ts';
import { clusterFor, freshNamespace, readyPods } from '../cluster/kubectl.ts';
import { PACKAGE_VERSION } from '../helpers/app-facts.ts';
import {
  CHART,
  HELM_LABELS,
  helmIn,
  helmScenarios,
  helmTable,
  objectKey,
  parseRendered,
  type Release,
  replay,
} from '../helpers/helm.ts';
import { loadManifests } from '../helpers/manifests.ts';
import { CLI_SCRIPT, ROOT } from '../helpers/process.ts';
import { needTools } from '../helpers/tools.ts';

/** Where the API server serves each kind the walkthrough's releases hold: API path and resource. */
const RESOURCES: Record<string, [string, string]> = {
  Service: ['api/v1', 'services'],
  Deployment: ['apis/apps/v1', 'deployments'],
  Gateway: ['apis/networking.istio.io/v1', 'gateways'],
  DestinationRule: ['apis/networking.istio.io/v1', 'destinationrules'],
  VirtualService: ['apis/networking.istio.io/v1', 'virtualservices'],
};

const split = (args: string[]): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [CLI_SCRIPT, 'split', ...args], { cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });

/** The control plane, up (or as it runs already), its kubectl, and Helm; undefined where the tools are missing. */
async function controlPlane(t: Test) {
  const tools = needTools(t, 'helm');
  if (!tools) return undefined;
  const kubectl = await clusterFor(t);
  if (!kubectl) return undefined;
  return { cluster: kubectl.cluster, kubectl, helm: helmIn(t, tools.helm) };
}

t.test("docs/istio.md's Helm steps on the local control plane", async (t) => {
  const on = await controlPlane(t);
  if (!on) return;
  const { cluster, kubectl, helm } = on;
  const namespace = await freshNamespace(t, kubectl, 'helm-walkthrough');
  const onCluster = (command: string) => {
    const [, verb = '', ...rest] = command.split(/\s+/);
    // --wait: until the Deployments' pods are Ready, as a reader would wait with kubectl rollout status.
    const how = verb === 'uninstall' ? ['--wait'] : ['--wait', '--timeout', '5m'];
    return helm(verb, ...rest, ...how, '--kubeconfig', cluster.kubeconfig, '--namespace', namespace);
  };

  const rows = helmTable(readFileSync(path.join(ROOT, 'docs/istio.md'), 'utf8'));
  // Then a change of settings, as an upgrade of one version's release rolls its pods.
  const settings = 'helm upgrade ecadraft-v2 charts/ecadraft --reuse-values --set replicas=3 --set env.TICKET_COUNT=37';
  const steps = [...rows, { step: 'settings', kubectl: [], helm: settings }];
  const states = replay(steps.map((row) => row.helm));
  const files: string[] = [];
  for (const [i, row] of steps.entries()) {
    const state: Release[] = states[i] ?? [];
    files.push(...row.kubectl);
    await t.test(`${row.step}: ${row.helm}`, async (t) => {
      const run = onCluster(row.helm);
      t.equal(run.status, 0, run.stderr);

      // The routes as the kubectl steps beside it in docs/istio.md would have left them (the last applied).
      const routes = loadManifests(files, ROOT).manifests.filter((m) => m.kind === 'VirtualService');
      for (const m of new Map(routes.map((m) => [m.name, m])).values()) {
        const live = await kubectl.api.get(
          `/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices/${m.name}`,
        );
        t.strictSame(live?.spec, m.body.spec, `VirtualService ${m.name} routes as ${m.file}`);
      }

      // What the API server holds is what helm template renders for the same values.
      const rendered = parseRendered(
        state
          .map((r) => {
            const out = helm('template', r.name, CHART, ...r.flags, '--skip-tests', '--namespace', namespace);
            return out.stdout;
          })
          .join('\n---\n'),
      ).manifests;
      for (const m of rendered) {
        const [api, resource] = RESOURCES[m.kind] ?? [];
        t.ok(resource, `${objectKey(m)}: a kind the walkthrough has`);
        const live = await kubectl.api.get(`/${api}/namespaces/${namespace}/${resource}/${m.name}`);
        t.ok(live, `${objectKey(m)} exists`);
        const labels = (m.body.metadata as { labels: Record<string, string> }).labels;
        t.match(
          live?.metadata.labels,
          Object.fromEntries(HELM_LABELS.map((l) => [l, labels[l]])),
          `${objectKey(m)}: labels`,
        );
        t.match(
          live?.metadata.annotations,
          { 'meta.helm.sh/release-namespace': namespace },
          `${objectKey(m)}: owned by a release`,
        );
        t.match(live?.spec, m.body.spec, `${objectKey(m)}: spec as rendered`);
      }

      // Each deployed version's pods: as many as rendered, Ready, running the chart's env, answering as their version.
      for (const deployment of rendered.filter((m) => m.kind === 'Deployment')) {
        const spec = deployment.body.spec as {
          replicas: number;
          template: { spec: { containers: Array<{ env: Array<{ name: string; value: string }> }> } };
        };
        const version = (deployment.body.metadata as { labels: { version: string } }).labels.version;
        const pods = await readyPods(kubectl.api, namespace, `app=ecadraft,version=${version}`);
        t.equal(pods.length, spec.replicas, `${deployment.name}: ${spec.replicas} pods Ready`);
        for (const pod of pods as KubeObject[]) {
          t.strictSame(pod.spec.containers[0].env, spec.template.spec.containers[0]?.env, `${pod.metadata.name}: env`);
          const address = pod.metadata.annotations?.[POD_ADDRESS_ANNOTATION];
          const answer = await fetch(`http://${address}/version`).then((r) => r.json());
          const tickets = Number(
            spec.template.spec.containers[0]?.env.find((e) => e.name === 'TICKET_COUNT')?.value ??
              VARIABLES.ticketCount.default,
          );
          t.match(
            answer,
            { version, release: PACKAGE_VERSION, tickets },
            `${pod.metadata.name} answers as ${version}, ${tickets} tickets`,
          );
        }
        const first = pods[0]?.metadata.annotations?.[POD_ADDRESS_ANNOTATION];
        const result = await split(['--requests', '50', '--expect', `${version}=100`, `http://${first}/tickets`]);
        t.equal(
          result.code,
          0,
          `ecadraft split --expect ${version}=100 against ${deployment.name}'s pod\n${result.out}`,
        );
      }
    });
  }

  t.test('helm history and uninstall', async (t) => {
    const history = helm('history', 'ecadraft-v1', '--kubeconfig', cluster.kubeconfig, '--namespace', namespace);
    t.equal(history.status, 0, history.stderr);
    t.match(history.stdout, /^3\s.*deployed\s.*Upgrade complete/m, 'installed, then upgraded twice');
    const run = onCluster('helm uninstall ecadraft-v2 ecadraft-v1');
    t.equal(run.status, 0, run.stderr);
    const left = await kubectl.api.get(`/apis/apps/v1/namespaces/${namespace}/deployments`);
    t.strictSame(left?.items ?? [], [], 'no Deployment left');
  });
});

t.test("every helm command of the chart's README is accepted by the API server", async (t) => {
  const on = await controlPlane(t);
  if (!on) return;
  const { cluster, kubectl, helm } = on;
  const scenarios = helmScenarios(readFileSync(path.join(ROOT, CHART, 'README.md'), 'utf8'));
  for (const [n, scenario] of scenarios.entries()) {
    const namespace = await freshNamespace(t, kubectl, `helm-readme-${n}`);
    for (const command of scenario) {
      const [, verb = '', ...rest] = command.split(/\s+/);
      // Without --wait: what is asked here is the API server's validation, the
      // CRDs' schemas and rules included (a node pool's pods have no node here).
      const run = helm(verb, ...rest, '--kubeconfig', cluster.kubeconfig, '--namespace', namespace);
      t.equal(run.status, 0, `${command}\n${run.stderr}`);
    }
  }
});
