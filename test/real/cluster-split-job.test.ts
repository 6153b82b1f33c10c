// The Rollout of kubernetes/argo-rollouts/ with every gate its steps name,
// the split Job included, on the local control plane. The Job's pod runs for
// real through the pod runner (kwok's stages never fake its end), and its
// `http://ecadraft/tickets` reaches the namespace's Envoy (test/cluster/mesh.ts:
// the pod runner points the Service's host at it, in place of cluster DNS and
// a sidecar), which routes by the VirtualService and DestinationRule as the
// controller rewrites them, to the Ready pods of each subset. So the Job
// measures the weights the controller set, on the real path.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { until } from '../cluster/control-plane.ts';
import type { KubeObject } from '../cluster/kube-api.ts';
import { clusterFor, freshNamespace, type Kubectl } from '../cluster/kubectl.ts';
import { analysisRuns, deployV1, load, release, state, waitForRollout, weightsAre } from '../cluster/rollout.ts';
import { cli } from '../helpers/canary.ts';
import { needTools } from '../helpers/tools.ts';

/** The split Jobs of a namespace's AnalysisRuns, oldest first, with their pods. */
async function splitJobs(kubectl: Kubectl, namespace: string): Promise<{ job: KubeObject; pod: KubeObject }[]> {
  const jobs = await kubectl.api.get(`/apis/batch/v1/namespaces/${namespace}/jobs`);
  const sorted = (jobs?.items ?? []).sort((a: KubeObject, b: KubeObject) =>
    a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp),
  );
  return Promise.all(
    sorted.map(async (job: KubeObject) => {
      const selector = encodeURIComponent(`job-name=${job.metadata.name}`);
      const pods = await kubectl.api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${selector}`);
      return { job, pod: pods?.items?.[0] };
    }),
  );
}

/** What the pod's process printed (the pod runner keeps it: there is no `kubectl logs` without a kubelet). */
function podLog(kubectl: Kubectl, pod: KubeObject): string {
  return readFileSync(
    path.join(kubectl.cluster.dir, 'pods', `${pod.metadata.namespace}_${pod.metadata.name}.log`),
    'utf8',
  );
}

/** The namespace's Envoy, as the Job's pod printed the URL it sampled. */
const envoyOf = (printed: string): string | undefined =>
  /split of (http:\/\/127\.0\.0\.1:\d+)\/tickets/.exec(printed)?.[1];

/** v1 Healthy with every gate in a fresh namespace, load on its pods, then the release: the namespace and v1's state. */
async function released(t: Test, kubectl: Kubectl, name: string, env: Record<string, string> = {}) {
  const namespace = await freshNamespace(t, kubectl, name);
  await deployV1(kubectl, namespace, { splitGate: true });
  const v1 = await state(kubectl, namespace);
  const traffic = load(kubectl, namespace);
  t.teardown(() => traffic.stop());
  await release(kubectl, namespace, 'v2', env);
  return { namespace, v1 };
}

const metric = (run: KubeObject, name: string): string | undefined =>
  run.status?.metricResults?.find((m: KubeObject) => m.name === name)?.phase;

async function healthy(t: Test, kubectl: Kubectl): Promise<void> {
  const { namespace, v1 } = await released(t, kubectl, 'split-healthy');

  const paused = await waitForRollout(kubectl, namespace, 'the pause after the first gate', (s) =>
    (s.pauseConditions ?? []).some((c: KubeObject) => c.reason === 'CanaryPauseStep'),
  );
  const [first] = await splitJobs(kubectl, namespace);
  if (!t.ok(first, 'the first gate ran a split Job')) return;
  const { job, pod } = first as { job: KubeObject; pod: KubeObject };
  const command: string[] = job.spec.template.spec.containers[0].command;
  t.equal(command.at(-1), 'http://ecadraft/tickets', 'the Job calls the Service by its name');
  t.ok(command.includes('v1=90,v2=10'), `the first gate expects 90/10: ${command.join(' ')}`);
  t.equal(pod?.status?.phase, 'Succeeded', 'its pod ran for real and passed');
  const printed = podLog(kubectl, pod);
  t.match(printed, 'expect v1=90%, v2=10%: ok', 'it measured 90/10');
  const envoy = envoyOf(printed);
  t.ok(envoy, `through the namespace's Envoy (${envoy})`);

  // The same command on the same path while the pause holds 90/10: it
  // passes, and the same samples fail a wrong expectation, so the gate's pass
  // was a measurement and not a formality.
  const [again, wrong] = await Promise.all([
    cli(t, [...command.slice(2, -1), `${envoy}/tickets`], undefined, 100_000),
    cli(
      t,
      [...command.slice(2, -1).map((a) => (a === 'v1=90,v2=10' ? 'v1=50,v2=50' : a)), `${envoy}/tickets`],
      undefined,
      100_000,
    ),
  ]);
  t.equal(again.code, 0, 'at the pause it passes again', { stdout: again.stdout, stderr: again.stderr });
  t.equal(wrong.code, 1, 'and fails an expectation of 50/50', { stdout: wrong.stdout, stderr: wrong.stderr });

  await kubectl(['argo', 'rollouts', 'promote', 'ecadraft'], { namespace });
  const done = await waitForRollout(
    kubectl,
    namespace,
    'v2 Healthy and stable',
    (s) => s.phase === 'Healthy' && s.stableRS === paused.status.currentPodHash,
  );
  t.not(done.status.stableRS, v1.stableHash, 'v2 is stable');
  const runs = await analysisRuns(kubectl, namespace);
  t.same(
    runs.map((r) => [r.status?.phase, metric(r, 'success-rate'), metric(r, 'p99-latency'), metric(r, 'split')]),
    Array(3).fill(['Successful', 'Successful', 'Successful', 'Successful']),
    'each of the three gates ran all three metrics, the split Job included, and passed',
  );
  const jobs = await splitJobs(kubectl, namespace);
  t.same(
    jobs.map(({ pod }) => /expect (.*): ok/.exec(podLog(kubectl, pod))?.[1]),
    ['v1=90%, v2=10%', 'v1=50%, v2=50%', 'v1=0%, v2=100%'],
    "each split Job measured its step's weights on the real path",
  );
}

async function allErrors(t: Test, kubectl: Kubectl): Promise<void> {
  const { namespace, v1 } = await released(t, kubectl, 'split-all-errors', { FAULT_ERROR_RATE: '1' });
  const rollout = await waitForRollout(
    kubectl,
    namespace,
    'the abort (or a pause instead)',
    (s) => s.abort === true || (s.pauseConditions ?? []).length > 0,
  );
  if (!t.ok(rollout.status.abort, `the Rollout aborted: ${rollout.status.message}`)) return;
  await until('both VirtualServices back at 100/0', async () => weightsAre(await state(kubectl, namespace), 0));
  const back = await state(kubectl, namespace);
  t.equal(back.subsets[0], v1.stableHash, 'all traffic back on stable: subset stable still selects the v1 pods');
  const run = (await analysisRuns(kubectl, namespace)).at(-1);
  t.equal(run?.status?.phase, 'Failed', 'the first gate failed');
  const failed = (run?.status?.metricResults ?? []).filter((m: KubeObject) => m.phase === 'Failed');
  t.ok(failed.length > 0, `failed by ${failed.map((m: KubeObject) => m.name).join(', ')}`);

  // On the path itself: the Envoy the Job sampled now sends every request to v1.
  const [first] = await splitJobs(kubectl, namespace);
  const envoy = first && envoyOf(podLog(kubectl, first.pod));
  if (!t.ok(envoy, `the Job sampled the namespace's Envoy (${envoy})`)) return;
  let last = '';
  await until('the Envoy to route everything to v1', async () => {
    const run = await cli(t, ['split', '--requests', '200', '--expect', 'v1=100,v2=0', `${envoy}/tickets`]);
    last = run.stdout + run.stderr;
    return run.code === 0;
  }).catch((error: Error) => t.fail(`${error.message}\n${last}`));
  t.match(last, 'expect v1=100%, v2=0%: ok', 'all traffic back on stable, measured through the Envoy');
}

t.test('the Rollout with all its gates, the split Job on the real traffic path', async (t) => {
  if (needTools(t, 'envoy') === undefined) return;
  const kubectl = await clusterFor(t, { prometheus: true });
  if (kubectl === undefined) return;
  t.test('scenarios, side by side', { jobs: 2 }, async (t) => {
    t.test('a healthy v2 is promoted through every gate', (t) => healthy(t, kubectl));
    t.test('a v2 that answers only 5xx aborts, all traffic back on stable', (t) => allErrors(t, kubectl));
  });
});
