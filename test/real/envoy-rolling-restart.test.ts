// A rolling restart behind a real Envoy configured from the repository's
// routing files: every pod of both versions replaced in turn, round after
// round, under load, and not one request lost. Each pod stops as Kubernetes
// stops it (SIGTERM: /readyz fails at once, the app drains after
// SHUTDOWN_DELAY_MS); Envoy's endpoints follow each pod's /readyz, as Istio's
// EDS follows the pod's readiness, so the restart is judged on the drain. The
// retry policy is Istio's default (envoy-config.ts DEFAULT_RETRY_POLICY): a
// refused connection is retried on another pod, a reset or a 503 is not.
//
// The load mixes busy clients with bursts that leave their connections idle
// about a second between them. The control puts the idle timeouts in
// the wrong order (the app closing idle connections before Envoy does) and
// shows the reset race Istio users meet in rollouts, so the test can see it.
import t, { type Test } from 'tap';
import { DEFAULT_RETRY_POLICY } from '../../src/demo/envoy-config.ts';
import { Envoy, needEnvoy, stepFile } from '../helpers/envoy.ts';
import { type Outcome, startBursts, startLoad, tally } from '../helpers/keepalive-load.ts';
import { type Env, startServer } from '../helpers/process.ts';

const LOAD_PATH = '/tickets?max_results=5';
const DELAY_MS = 2000;
const TIMEOUT_MS = 6000;
const POLL_MS = 100;
/** Node closes an idle connection this long after the keep-alive it advertises (its keepAliveTimeoutBuffer). */
const NODE_KEEP_ALIVE_BUFFER_MS = 1000;

/**
 * Busy clients, and bursts whose connections then sit idle about as long as
 * the app keeps an idle connection in the control (swept across a window
 * around it, since a timer's exact moment varies).
 */
function mixedLoad(url: string) {
  const busy = startLoad(url, { clients: 4, pauseMs: () => 5 });
  const idleMs = 1 + NODE_KEEP_ALIVE_BUFFER_MS;
  let burst = 0;
  const quiet = startBursts(url, { size: 16, pauseMs: () => idleMs - 20 + ((burst++ * 2) % 40) });
  return {
    failed: () => [...busy.outcomes, ...quiet.outcomes].filter((o) => o.status !== 200).length,
    stop: async (): Promise<Outcome[]> => [...(await busy.stop()), ...(await quiet.stop())],
  };
}

interface RestartResult {
  rounds: number;
  outcomes: Outcome[];
  lags: number[];
  retries: number;
  seconds: number;
}

/**
 * Rounds of replacing each of two pods per version, one at a time, a new pod
 * ready before an old one stops: `rounds` of them, or with `untilFailed` as
 * many as it takes for a request to fail, at most `rounds`.
 */
async function rollingRestart(t: Test, rounds: number, env: Env, untilFailed = false): Promise<RestartResult> {
  const envoy = await Envoy.start({ routes: stepFile('50-50') });
  t.teardown(() => envoy.stop());
  const podEnv = { SHUTDOWN_DELAY_MS: String(DELAY_MS), SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS), ...env };
  let started = 0;
  const replica = async (subset: string) => {
    const server = await startServer(t, { VERSION: subset, ...podEnv });
    const name = `${subset}-${++started}`;
    await envoy.track(name, { subset, url: server.url }, POLL_MS);
    return { name, subset, server };
  };
  type Replica = Awaited<ReturnType<typeof replica>>;
  const exits: Promise<void>[] = [];
  const lags: number[] = [];
  /** Kubernetes' order: SIGTERM (readiness fails), the endpoint goes, the process exits, the pod is deleted. */
  const retire = (old: Replica) => {
    const signalledAt = Date.now();
    old.server.signal('SIGTERM');
    exits.push(
      (async () => {
        lags.push((await envoy.untracked(old.name, TIMEOUT_MS)) - signalledAt);
        const exit = await old.server.waitForExit(TIMEOUT_MS + 2000);
        t.equal(exit.code, 0, `${old.name} exits 0 after draining`);
        envoy.forget(old.name);
      })(),
    );
  };
  const slots = [await replica('v1'), await replica('v1'), await replica('v2'), await replica('v2')];
  const load = mixedLoad(`${envoy.url}${LOAD_PATH}`);
  const began = performance.now();
  let round = 0;
  while (round < rounds && !(untilFailed && load.failed() > 0)) {
    round++;
    for (const [i, old] of slots.entries()) {
      const next = await replica(old.subset);
      retire(old);
      slots[i] = next;
    }
  }
  await Promise.all(exits);
  const outcomes = await load.stop();
  const seconds = (performance.now() - began) / 1000;
  let retries = 0;
  for (const subset of ['v1', 'v2']) retries += await envoy.stat(envoy.clusterStat(subset, 'upstream_rq_retry'));
  return { rounds: round, outcomes, lags, retries, seconds };
}

const describe = (r: RestartResult) =>
  `${r.rounds} rounds, ${r.rounds * 4} pods replaced in ${r.seconds.toFixed(1)} s; ${r.outcomes.length} requests ` +
  `${JSON.stringify(tally(r.outcomes))}; Envoy retried ${r.retries}; readiness lag (signal to out of Envoy's endpoints) max ${Math.max(...r.lags)} ms`;

t.test('rolling restart behind Envoy: five rounds under load, no failed request', async (t) => {
  if (!needEnvoy(t)) return;
  t.comment(
    `retry policy: ${DEFAULT_RETRY_POLICY.retry_on}, ${DEFAULT_RETRY_POLICY.num_retries} retries on another pod`,
  );
  const rounds = 5;
  const result = await rollingRestart(t, rounds, {});
  t.comment(describe(result));
  t.ok(
    Math.max(...result.lags) < DELAY_MS,
    "every pod left Envoy's endpoints within its shutdown delay (the premise: the mesh stops sending before the app closes)",
  );
  t.ok(result.outcomes.length > rounds * 4 * 50, 'the load ran throughout');
  t.same(
    result.outcomes.filter((o) => o.status !== 200),
    [],
    'no failed request',
  );
});

t.test('control: the idle timeouts in the wrong order show the reset race', async (t) => {
  if (!needEnvoy(t)) return;
  // The app keeps an idle connection about 1 s (1 ms, plus Node's buffer); Envoy keeps it the DestinationRule's 60 s.
  const result = await rollingRestart(t, 20, { KEEP_ALIVE_TIMEOUT_MS: '1' }, true);
  t.comment(describe(result));
  const failed = result.outcomes.filter((o) => o.status !== 200);
  t.ok(failed.length > 0, `requests fail (${failed.length}) when the app closes idle connections Envoy still reuses`);
  t.same(
    failed.filter((o) => o.status !== 503),
    [],
    'each a 503 from Envoy (upstream reset before headers)',
  );
});
