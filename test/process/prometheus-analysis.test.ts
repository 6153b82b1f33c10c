// The Rollout's Prometheus gates against a real Prometheus (Debian's
// `prometheus` package, which .ci/run installs): a v2 ecadraft per scenario
// and a v1 beside it, scraped every second; load through a weighted proxy at
// the weights of the Rollout's 50% gate; then each AnalysisTemplate's query,
// exactly as the AnalysisRun of that gate would send it (args substituted as
// Argo does), evaluated by Prometheus and judged by the metric's own
// successCondition and failureCondition (test/helpers/argo-expr.ts).
//
// The scenarios run side by side, told apart by the `namespace` label that a
// cluster's Prometheus would add, which the templates take as an arg:
// - healthy: v2 passes both gates, while the v1 beside it (scraped in the
//   same namespace) fails half its requests slowly, so a query that looked at
//   the wrong version, or at both, would fail;
// - errors: v2 with FAULT_ERROR_RATE=0.2 fails the success rate only;
// - slow: v2 with FAULT_DELAY_MS above the latency threshold fails the p99 only.
import t from 'tap';
import { evaluateResult, type Phase } from '../helpers/argo-expr.ts';
import { cli } from '../helpers/canary.ts';
import { ROOT, type RunningServer, request, sleep, startServer } from '../helpers/process.ts';
import { findPrometheus, startPrometheus } from '../helpers/prometheus.ts';
import { analysisRun, readRelease, readRollout, releasedRollout, weightAt } from '../helpers/rollouts.ts';
import { startWeightedProxy, type WeightedProxy } from '../helpers/weighted-proxy.ts';

const binary = findPrometheus();
const SKIP = binary
  ? false
  : "Debian's prometheus package is not installed (.ci/run installs it: apt-get install prometheus), so the gates' queries are not run against Prometheus";

const REQUESTS = 400;
const RATE = 100;
const WARM_UP = 20;

const { rollout, templates } = readRollout(ROOT);
const release = readRelease(ROOT, 'v2.json');
const steps = rollout.spec.strategy?.canary?.steps ?? [];
// The gate at 50%, where the canary answers half the load: its p99 is then
// the 99th percentile of a few hundred answers, not the slowest of thirty,
// and one stall of a busy test machine does not decide it. The queries are
// the same at every gate.
const gate = steps.findIndex((s, i) => s.analysis && weightAt(steps, i) === 50);
const canaryWeight = weightAt(steps, gate);

interface Scenario {
  namespace: string;
  /** The canary's env. */
  v2: Record<string, string>;
  /** The v1 beside it: sick for `healthy` (and scraped), healthy and unscraped for the others. */
  v1: 'sick' | 'healthy';
  expected: Record<'success-rate' | 'p99-latency', Phase>;
}

const SCENARIOS: Scenario[] = [
  {
    namespace: 'healthy',
    v2: {},
    v1: 'sick',
    expected: { 'success-rate': 'Successful', 'p99-latency': 'Successful' },
  },
  {
    namespace: 'errors',
    v2: { FAULT_ERROR_RATE: '0.2' },
    v1: 'healthy',
    expected: { 'success-rate': 'Failed', 'p99-latency': 'Successful' },
  },
  {
    namespace: 'slow',
    v2: { FAULT_DELAY_MS: '400' },
    v1: 'healthy',
    expected: { 'success-rate': 'Successful', 'p99-latency': 'Failed' },
  },
];
const SICK_V1 = { FAULT_ERROR_RATE: '0.5', FAULT_DELAY_MS: '300' };

/** The gate's metrics for this namespace, as its AnalysisRun holds them, asking `prometheusUrl`. */
function gateMetrics(namespace: string, prometheusUrl: string) {
  const released = releasedRollout(rollout, release, namespace);
  const analysis = structuredClone(steps[gate]?.analysis);
  if (!analysis) throw new Error('the Rollout has no analysis step');
  // The address is an arg: a Rollout points the templates at its Prometheus the same way.
  analysis.args = [...(analysis.args ?? []), { name: 'prometheus-address', value: prometheusUrl }];
  return analysisRun(released, analysis, templates).metrics.filter((m) => m.provider.prometheus);
}

/** `ecadraft split` as bounded load: REQUESTS at RATE per second, enough in flight for a v1 that waits 300 ms. */
const load = (url: string) =>
  cli(t, ['split', '--requests', String(REQUESTS), '--rate', String(RATE), '--concurrency', '40', url]);

t.test(
  "each gate's query, run by Prometheus, passes a healthy canary and fails a sick one",
  { skip: SKIP },
  async (t) => {
    if (!binary) return;
    t.ok(gate > 0, `step ${gate} is a gate at ${canaryWeight}%`);
    // Five servers start at once on a shared machine: a generous bound.
    const start = (env: Record<string, string>) => startServer(t, env, { readyTimeoutMs: 60_000 });
    const [sickV1, healthyV1, ...canaries] = await Promise.all([
      start({ VERSION: 'v1', ...SICK_V1 }),
      start({ VERSION: 'v1' }),
      ...SCENARIOS.map((s) => start({ VERSION: 'v2', ...s.v2 })),
    ]);
    if (!sickV1 || !healthyV1) throw new Error('the v1 servers did not start');
    const pairs = SCENARIOS.map((scenario, i) => ({
      scenario,
      v1: scenario.v1 === 'sick' ? sickV1 : healthyV1,
      v2: canaries[i] as RunningServer,
    }));
    // Each server's first answers are its slowest (cold code, an empty page
    // cache); on a busy test machine they alone could set a p99 of a few
    // dozen samples. They come before Prometheus' first scrape, so rate()
    // leaves them out, as it leaves out a pod's history before the window.
    const servers = [sickV1, healthyV1, ...canaries];
    await Promise.all(
      servers.flatMap((server) => Array.from({ length: WARM_UP }, () => request(`${server.url}/tickets`))),
    );
    const targets = [
      ...pairs.map(({ scenario, v2 }) => ({
        address: `127.0.0.1:${v2.port}`,
        labels: { namespace: scenario.namespace, pod: `${scenario.namespace}-v2` },
      })),
      // Beside the healthy canary, so that a query mixing the versions would fail it.
      { address: `127.0.0.1:${sickV1.port}`, labels: { namespace: 'healthy', pod: 'healthy-v1' } },
    ];
    const prometheus = await startPrometheus(t, binary, targets);

    // Every target scraped once before the load: its counters start from a sample.
    const deadline = performance.now() + 15_000;
    while (((await prometheus.query('sum(up)')) as number[])[0] !== targets.length) {
      if (performance.now() > deadline) throw new Error(`not every target is up:\n${prometheus.output()}`);
      await sleep(200);
    }

    const proxies: WeightedProxy[] = await Promise.all(
      pairs.map(({ v1, v2 }) =>
        startWeightedProxy(
          [
            { name: 'v1', url: v1.url, weight: 100 - canaryWeight },
            { name: 'v2', url: v2.url, weight: canaryWeight },
          ],
          { seed: 20200714 },
        ),
      ),
    );
    t.teardown(() => Promise.all(proxies.map((p) => p.close())));
    const runs = await Promise.all(proxies.map((p) => load(`${p.url}/tickets`)));
    for (const [i, run] of runs.entries())
      t.equal(run.code, 0, `${SCENARIOS[i]?.namespace}: the load ran\n${run.stdout}${run.stderr}`);

    // Wait for the scrape that saw the last request: Prometheus' count of each
    // canary's requests equals the warm-up and what the proxy sent it.
    for (const [i, { scenario }] of pairs.entries()) {
      const sent = proxies[i]?.forwarded.get('v2') ?? 0;
      t.ok(sent > 0.05 * REQUESTS, `${scenario.namespace}: ${sent} requests reached the canary`);
      const counted = `sum(ecadraft_http_requests_total{namespace="${scenario.namespace}", version="v2", route="/tickets"})`;
      const until = performance.now() + 15_000;
      while (((await prometheus.query(counted)) as number[])[0] !== WARM_UP + sent) {
        if (performance.now() > until) throw new Error(`${scenario.namespace}: Prometheus never counted ${sent}`);
        await sleep(200);
      }
    }

    for (const { scenario } of pairs) {
      const metrics = gateMetrics(scenario.namespace, prometheus.url);
      t.strictSame(
        metrics.map((m) => m.name),
        ['success-rate', 'p99-latency'],
      );
      for (const metric of metrics) {
        const query = metric.provider.prometheus?.query ?? '';
        t.match(query, `namespace="${scenario.namespace}", version="v2"`, 'the query as the AnalysisRun sends it');
        t.equal(metric.provider.prometheus?.address, prometheus.url);
        const result = await prometheus.query(query);
        const verdict = evaluateResult(result, metric);
        t.equal(
          verdict.phase,
          scenario.expected[metric.name as keyof Scenario['expected']],
          `${scenario.namespace}: ${metric.name} = ${JSON.stringify(result)} is ${verdict.phase}`,
        );
      }
    }

    // Without traffic on the canary there is no data, and no verdict either way.
    for (const metric of gateMetrics('idle', prometheus.url)) {
      const result = await prometheus.query(metric.provider.prometheus?.query ?? '');
      t.strictSame(result, [], `idle: ${metric.name} has no data`);
      t.equal(evaluateResult(result, metric).phase, 'Inconclusive', `idle: ${metric.name} is Inconclusive`);
    }
  },
);
