// A sick canary behind a real Envoy configured from kubernetes/ecadraft1.yaml's
// DestinationRule (consecutive5xxErrors 5, maxEjectionPercent 50, no panic
// threshold as Istio sets it): what outlier detection does, and what it never
// does (move traffic to the other version). The 50-50 step throughout, v2 the
// subset that gets sick; the counts are those docs/istio.md and
// docs/canary-tools.md quote.
import t from 'tap';
import { type Answer, needEnvoy, sendMany, startMesh, tallyAnswers } from '../helpers/envoy.ts';

const SICK = { FAULT_ERROR_RATE: '1' };
const N = 200;

const v1Share = (answers: readonly Answer[]) => answers.filter((a) => a.version === 'v1');

t.test('one sick pod of two: Envoy ejects it, the healthy pod answers the subset share', async (t) => {
  if (!needEnvoy(t)) return;
  const mesh = await startMesh(t, { step: '50-50', pods: { v1: [{}, {}], v2: [SICK, {}] } });
  const url = `${mesh.url}/tickets?max_results=1`;
  const first = await sendMany(url, N);
  const ejected = await mesh.envoy.stat(
    mesh.envoy.clusterStat('v2', 'outlier_detection.ejections_enforced_consecutive_5xx'),
  );
  const active = await mesh.envoy.stat(mesh.envoy.clusterStat('v2', 'outlier_detection.ejections_active'));
  const then = await sendMany(url, N);
  t.comment(
    `first ${N} requests: ${JSON.stringify(tallyAnswers(first))}; the next ${N}: ${JSON.stringify(tallyAnswers(then))}`,
  );
  t.equal(ejected, 1, "Envoy's stats: one ejection for consecutive 5xx in v2");
  t.equal(active, 1, 'and one pod out');
  const failed = first.filter((a) => a.status !== 200);
  t.equal(failed.length, 5, 'before it, the sick pod answered its five 500s in a row (no retry: Istio retries no 500)');
  t.ok(
    failed.every((a) => a.status === 500 && a.version === 'v2'),
    'each a 500 from v2',
  );
  t.same(
    then.filter((a) => a.status !== 200),
    [],
    'after it, every request answers 200',
  );
  const v2 = then.filter((a) => a.version === 'v2').length;
  t.ok(v2 > N * 0.3 && v2 < N * 0.7, `and v2 keeps its share (${v2} of ${N}), answered by its healthy pod`);
  t.equal(
    await mesh.envoy.stat(mesh.envoy.clusterStat('v1', 'outlier_detection.ejections_active')),
    0,
    'v1 is untouched',
  );
});

t.test('both pods of a subset sick: maxEjectionPercent 50 ejects one, the other keeps answering 500s', async (t) => {
  if (!needEnvoy(t)) return;
  const mesh = await startMesh(t, { step: '50-50', pods: { v1: [{}, {}], v2: [SICK, SICK] } });
  const answers = await sendMany(`${mesh.url}/tickets?max_results=1`, N);
  const stat = (name: string) => mesh.envoy.stat(mesh.envoy.clusterStat('v2', `outlier_detection.${name}`));
  const active = await stat('ejections_active');
  const overflow = await stat('ejections_overflow');
  const tally = tallyAnswers(answers);
  t.comment(
    `${N} requests: ${JSON.stringify(tally)}; v2 ejections active ${active}, refused by maxEjectionPercent ${overflow}`,
  );
  t.equal(active, 1, 'one v2 pod ejected, never both');
  t.ok(overflow > 0, 'the second ejection was refused (ejections_overflow)');
  const v2 = answers.filter((a) => a.version === 'v2');
  t.ok(v2.length > N * 0.3 && v2.length < N * 0.7, `v2 keeps its whole share (${v2.length} of ${N})`);
  t.same(
    v2.filter((a) => a.status !== 500),
    [],
    'every one of them a 500 carrying x-ecadraft-version: v2',
  );
  t.same(
    v1Share(answers).filter((a) => a.status !== 200),
    [],
    'v1 answers its share 200',
  );
});

t.test('a subset with no ready endpoint: its share gets 503 no healthy upstream, the other is untouched', async (t) => {
  if (!needEnvoy(t)) return;
  const mesh = await startMesh(t, { step: '50-50', pods: { v1: [{}, {}], v2: [{}, {}] } });
  // Both v2 pods not ready: Istio sends v2's cluster no endpoint at all.
  await mesh.envoy.setEndpoints('v2', []);
  const answers = await sendMany(`${mesh.url}/tickets?max_results=1`, N);
  const tally = tallyAnswers(answers);
  t.comment(`${N} requests: ${JSON.stringify(tally)}`);
  const unanswered = answers.filter((a) => a.status !== 200);
  t.ok(
    unanswered.length > N * 0.3 && unanswered.length < N * 0.7,
    `v2's share (${unanswered.length} of ${N}) is not moved to v1`,
  );
  t.same(
    unanswered.filter((a) => a.status !== 503 || a.body !== 'no healthy upstream' || a.version !== undefined),
    [],
    'each answered by Envoy itself: 503 "no healthy upstream", no version header',
  );
  t.same(
    answers.filter((a) => a.status === 200 && a.version !== 'v1'),
    [],
    'the rest, 200 from v1',
  );
});
