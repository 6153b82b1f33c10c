// The Rollout of kubernetes/argo-rollouts/, driven by the real Argo Rollouts
// controller on the local control plane, its gates judged by a real Prometheus
// that scrapes the pods' real processes (test/cluster/). Each scenario has a
// namespace of its own, and they run side by side. The gates here are the two
// Prometheus templates on their own: each must fail a sick canary by itself.
// Every wait is for an event the API server reports, with generous bounds.
import t, { type Test } from 'tap';
import { until } from '../cluster/control-plane.ts';
import { clusterFor, freshNamespace, type Kubectl } from '../cluster/kubectl.ts';
import {
  analysisRuns,
  deployV1,
  findState,
  load,
  record,
  release,
  type State,
  state,
  waitForRollout,
  weightsAre,
} from '../cluster/rollout.ts';

const pausedBy = (reason: string) => (s: { pauseConditions?: { reason: string }[] }) =>
  s.pauseConditions?.some((c) => c.reason === reason) === true;

/** Both VirtualServices at this canary weight, the subsets on these hashes. */
function routedAs(s: State, canaryWeight: number, stableHash: string, canaryHash: string): boolean {
  return weightsAre(s, canaryWeight) && s.subsets[0] === stableHash && s.subsets[1] === canaryHash;
}

async function healthy(t: Test, kubectl: Kubectl): Promise<void> {
  const namespace = await freshNamespace(t, kubectl, 'rollout-healthy');
  await deployV1(kubectl, namespace);
  const v1 = await state(kubectl, namespace);
  t.equal(v1.phase, 'Healthy', 'v1 is Healthy');
  t.ok(weightsAre(v1, 0), `v1: both VirtualServices at 100/0 (${JSON.stringify(v1.weights)})`);
  t.equal(v1.subsets[0], v1.stableHash, 'subset stable selects the v1 pods by their hash');

  const traffic = load(kubectl, namespace);
  t.teardown(() => traffic.stop());
  const states = record(kubectl, namespace);
  t.teardown(() => states.stop());
  await release(kubectl, namespace, 'v2');

  const paused = await waitForRollout(
    kubectl,
    namespace,
    'the pause after the first gate',
    pausedBy('CanaryPauseStep'),
  );
  const v2Hash: string = paused.status.currentPodHash;
  t.not(v2Hash, v1.stableHash, 'the release made a new pod-template hash');
  t.ok(
    findState(states.states, (s) => routedAs(s, 10, v1.stableHash as string, v2Hash)) >= 0,
    'at setWeight 10: both VirtualServices 90/10, subset stable on v1, canary on v2',
  );
  const atPause = await state(kubectl, namespace);
  t.ok(routedAs(atPause, 10, v1.stableHash as string, v2Hash), 'the pause holds 90/10 until promoted');

  // What docs/argo-rollouts.md says of re-applying routing.yaml mid-release:
  // it replaces the subsets (hash labels and all) and the weights, until the
  // controller writes them back.
  await kubectl(['apply', '-f', 'kubernetes/argo-rollouts/routing.yaml'], { namespace });
  const reapplied = Date.now();
  const wiped = await state(kubectl, namespace);
  t.comment(`right after re-applying routing.yaml: ${JSON.stringify({ w: wiped.weights, s: wiped.subsets })}`);
  await until('the controller to route 90/10 by the hashes again', async () =>
    routedAs(await state(kubectl, namespace), 10, v1.stableHash as string, v2Hash),
  );
  t.pass(`the controller wrote weights and hashes back ${((Date.now() - reapplied) / 1000).toFixed(1)} s later`);

  await kubectl(['argo', 'rollouts', 'promote', 'ecadraft'], { namespace });
  await waitForRollout(
    kubectl,
    namespace,
    'v2 Healthy and stable',
    (s) => s.phase === 'Healthy' && s.stableRS === v2Hash,
  );
  // The routing follows the status: subset stable onto v2, the weights back to 100/0.
  await until('subset stable on v2 at 100/0', async () => {
    const s = await state(kubectl, namespace);
    return weightsAre(s, 0) && s.subsets[0] === v2Hash;
  });
  await states.stop();
  const seen = states.states;
  const at10 = findState(seen, (s) => routedAs(s, 10, v1.stableHash as string, v2Hash));
  const at50 = findState(seen, (s) => routedAs(s, 50, v1.stableHash as string, v2Hash), at10);
  const at100 = findState(seen, (s) => routedAs(s, 100, v1.stableHash as string, v2Hash), at50);
  const done = findState(seen, (s) => weightsAre(s, 0) && s.subsets[0] === v2Hash && s.phase === 'Healthy', at100);
  t.ok(
    at10 >= 0 && at50 > at10 && at100 > at50 && done > at100,
    `weights 10, 50, 100, then 100/0 on v2 (${at10}, ${at50}, ${at100}, ${done})`,
  );
  if (done < 0) t.comment(JSON.stringify(seen, null, 1));
  const runs = await analysisRuns(kubectl, namespace);
  t.same(
    runs.map((r) => r.status?.phase),
    ['Successful', 'Successful', 'Successful'],
    'each of the three gates ran and passed',
  );
}

async function aborted(t: Test, kubectl: Kubectl, name: string, env: Record<string, string>, metric: string) {
  const namespace = await freshNamespace(t, kubectl, `rollout-${name}`);
  await deployV1(kubectl, namespace);
  const v1 = await state(kubectl, namespace);
  const traffic = load(kubectl, namespace);
  t.teardown(() => traffic.stop());
  const states = record(kubectl, namespace);
  t.teardown(() => states.stop());
  await release(kubectl, namespace, Object.keys(env).length === 0 ? 'v2-errors' : 'v2', env);
  const started = Date.now();
  // An abort, or the pause an inconclusive gate or the next step makes: either ends the wait.
  const rollout = await waitForRollout(
    kubectl,
    namespace,
    'the abort (or a pause instead)',
    (s) => s.abort === true || (s.pauseConditions ?? []).length > 0,
  );
  const abortSeconds = (Date.now() - started) / 1000;
  if (!t.ok(rollout.status.abort, `the Rollout aborted: ${rollout.status.message}`)) return;
  await waitForRollout(kubectl, namespace, 'Degraded', (s) => s.phase === 'Degraded');
  // The controller moves the weights back in the reconcile after the abort.
  await until('both VirtualServices back at 100/0', async () => weightsAre(await state(kubectl, namespace), 0));
  const back = await state(kubectl, namespace);
  t.ok(
    weightsAre(back, 0),
    `all traffic back on stable ${((Date.now() - started) / 1000).toFixed(0)} s after the release`,
  );
  t.equal(back.subsets[0], v1.stableHash, 'subset stable still selects the v1 pods');
  await states.stop();
  t.ok(
    findState(states.states, (s) => weightsAre(s, 10) && s.subsets[1] === rollout.status.currentPodHash) >= 0,
    'the canary had its 10% first',
  );
  t.notOk(
    states.states.some((s) => s.weights.some(([, c]) => c > 10)),
    'and never more',
  );
  const runs = await analysisRuns(kubectl, namespace);
  const run = runs.at(-1);
  t.equal(run?.status?.phase, 'Failed', 'the gate failed');
  const failed = (run?.status?.metricResults ?? []).filter((m: { phase: string }) => m.phase === 'Failed');
  t.same(
    failed.map((m: { name: string }) => m.name),
    [metric],
    `${metric} failed it: ${rollout.status.message}`,
  );
  t.comment(`${name}: aborted ${abortSeconds.toFixed(0)} s after the release`);
}

async function noTraffic(t: Test, kubectl: Kubectl): Promise<void> {
  const namespace = await freshNamespace(t, kubectl, 'rollout-no-traffic');
  await deployV1(kubectl, namespace);
  const states = record(kubectl, namespace);
  t.teardown(() => states.stop());
  await release(kubectl, namespace, 'v2');
  await waitForRollout(kubectl, namespace, 'an inconclusive gate', pausedBy('InconclusiveAnalysisRun'));
  const s = await state(kubectl, namespace);
  t.ok(weightsAre(s, 10), `paused at 90/10 (${JSON.stringify(s.weights)})`);
  await states.stop();
  t.notOk(
    states.states.some((x) => x.weights.some(([, c]) => c > 10)),
    'never promoted past the first gate',
  );
  const runs = await analysisRuns(kubectl, namespace);
  t.equal(runs.at(-1)?.status?.phase, 'Inconclusive', 'the gate ended Inconclusive');
}

/**
 * A release that keeps the version: a fixed build of a v2 whose stable pods
 * fail a fifth of their answers. The gates must judge the new pods alone, by
 * their pod-template hash; by the version label they would count the stable
 * pods' errors too and abort a healthy canary.
 */
async function sameVersion(t: Test, kubectl: Kubectl): Promise<void> {
  const namespace = await freshNamespace(t, kubectl, 'rollout-same-version');
  await deployV1(kubectl, namespace);
  // The sick v2 made stable without its gates, as the docs skip them for v1.
  await release(kubectl, namespace, 'v2-errors');
  await waitForRollout(kubectl, namespace, 'the v2-errors ReplicaSet', (s) => s.currentPodHash !== s.stableRS);
  await kubectl(['argo', 'rollouts', 'promote', 'ecadraft', '--full'], { namespace });
  const sick = await waitForRollout(
    kubectl,
    namespace,
    'v2-errors Healthy',
    (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash,
  );
  const traffic = load(kubectl, namespace);
  t.teardown(() => traffic.stop());
  await release(kubectl, namespace, 'v2');
  const judged = await waitForRollout(
    kubectl,
    namespace,
    'the first gate to end',
    (s) => s.currentPodHash !== sick.status.stableRS && (s.abort === true || (s.pauseConditions ?? []).length > 0),
  );
  t.notOk(judged.status.abort, `not aborted: ${judged.status.message ?? ''}`);
  t.ok(pausedBy('CanaryPauseStep')(judged.status), 'the first gate passed: paused for a person to promote');
}

t.test('the Rollout, driven by the real controller, gated by a real Prometheus', async (t) => {
  const kubectl = await clusterFor(t, { prometheus: true });
  if (kubectl === undefined) return;

  t.test('scenarios, side by side', { jobs: 8 }, async (t) => {
    t.test('a healthy v2 is promoted gate by gate to Healthy', (t) => healthy(t, kubectl));
    t.test('a v2 that answers only 5xx aborts', (t) =>
      aborted(t, kubectl, 'all-errors', { FAULT_ERROR_RATE: '1' }, 'success-rate'),
    );
    t.test('a v2 that fails 5% of its requests aborts', (t) =>
      aborted(t, kubectl, 'some-errors', { FAULT_ERROR_RATE: '0.05' }, 'success-rate'),
    );
    t.test("the docs' v2-errors.json (20%) aborts", (t) => aborted(t, kubectl, 'docs-errors', {}, 'success-rate'));
    t.test('a slow v2 aborts', (t) => aborted(t, kubectl, 'slow', { FAULT_DELAY_MS: '400' }, 'p99-latency'));
    t.test('a v2 without traffic is never promoted', (t) => noTraffic(t, kubectl));
    t.test('a release that keeps the version is judged by its own pods', (t) => sameVersion(t, kubectl));
  });
});
