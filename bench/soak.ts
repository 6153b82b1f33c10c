// `npm run soak`: the endurance run. The real server (node dist/server.js)
// on 127.0.0.1 under 60 s of autocannon load with a mix of cached pages,
// uncacheable queries (so the response caches fill and evict), single tickets,
// errors and operational routes, sampled every second: RSS from
// /proc/<pid>/status, and from the server's own /metrics (prom-client's default
// metrics) heap used, event-loop delay p99 and active handles. A few idle
// seconds before and after the load give the handle baseline to come back to.
// Targets: RSS grows less than 10% after the first 10 s of load; active handles
// return to the baseline; the event-loop p99 is reported. Exits 1 when a
// target is missed or a request fails, 2 when the server cannot start.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { milliseconds } from '../src/cli/render.ts';
import { request } from '../src/demo/http-client.ts';
import { assertFreshBuild, type Child, cleanUpOnExit, ROOT, rssOf, StartError, startEcadraft } from './children.ts';
import { allTickets } from './client.ts';
import { type CellResult, runLoad } from './load.ts';
import { uncacheableQuery } from './scenarios.ts';
import { renderSoakChart, type SoakSample } from './soak-chart.ts';
import { median } from './stats.ts';
import { mb, renderText, type Table } from './tables.ts';

const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const RSS_GROWTH_LIMIT = 0.1;
/** Growth is measured from this second of load on: the caches fill and the JIT settles before it. */
const SETTLE_S = 10;
const EXPECTED = new Set([200, 400, 404]);
/**
 * prom-client's event-loop histogram (monitorEventLoopDelay, its default 10 ms
 * resolution) records the whole interval between timer ticks, so an idle loop
 * reads about 10 ms: the delay proper is the reading minus this period.
 */
const LOOP_TIMER_MS = 10;

interface SoakPlan {
  loadS: number;
  idleS: number;
  connections: number;
}

/** One request mix per connection, cycled by autocannon: every kind of answer the service gives, in a fixed proportion. */
function connectionPaths(ids: readonly string[], count: number): string[] {
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  const mix = [
    () => `/tickets?${uncacheableQuery()}`,
    () => `/tickets?${uncacheableQuery()}`,
    () => `/tickets?${uncacheableQuery()}`,
    () => '/tickets',
    () => '/tickets?max_results=50&page=2',
    () => `/tickets/${pick()}`,
    () => `/tickets/${pick()}?projection=${encodeURIComponent('{"customer":1}')}`,
    () => `/tickets?where=${encodeURIComponent('status==')}`,
    () => '/nope',
    () => (Math.random() < 0.5 ? '/version' : '/healthz'),
  ];
  return Array.from({ length: count }, (_, i) => mix[i % mix.length]!());
}

/** Sums of the samples of each metric in Prometheus text (labels summed over). */
function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (name !== undefined && Number.isFinite(value)) sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

interface Sampler {
  samples: SoakSample[];
  setPhase(phase: SoakSample['phase']): void;
  stop(): Promise<void>;
}

/** Samples once a second, on a fixed schedule from the start, until stopped; a second missed (a busy machine) is skipped, not caught up. */
function startSampling(child: Child, log: (line: string) => void): Sampler {
  const samples: SoakSample[] = [];
  const started = performance.now();
  let phase: SoakSample['phase'] = 'idle';
  let phaseStarted = started;
  let previous: { requests: number; at: number } | undefined;
  let stopped = false;
  const sampleOnce = async (second: number) => {
    const response = await request(`${child.url}/metrics`, { timeoutMs: 900 }).catch(() => undefined);
    const at = performance.now();
    const metrics = response?.status === 200 ? parseMetrics(response.body) : new Map<string, number>();
    const requests = metrics.get('ecadraft_http_requests_total');
    const p99 = metrics.get('nodejs_eventloop_lag_p99_seconds');
    const sample: SoakSample = {
      second,
      phase,
      phaseSecond: Math.round((at - phaseStarted) / 1000),
      rssBytes: rssOf(child.pid),
      rssMetricBytes: metrics.get('process_resident_memory_bytes'),
      heapUsedBytes: metrics.get('nodejs_heap_size_used_bytes'),
      heapTotalBytes: metrics.get('nodejs_heap_size_total_bytes'),
      externalBytes: metrics.get('nodejs_external_memory_bytes'),
      loopP99Ms: p99 === undefined ? undefined : p99 * 1000,
      activeHandles: metrics.get('nodejs_active_handles_total'),
      rps:
        requests === undefined || previous === undefined
          ? undefined
          : ((requests - previous.requests) * 1000) / (at - previous.at),
      scraped: response?.status === 200,
    };
    if (requests !== undefined) previous = { requests, at };
    samples.push(sample);
    log(
      `${phase.padEnd(8)} RSS ${mb(sample.rssBytes).padStart(7)}  heap ${mb(sample.heapUsedBytes).padStart(6)} of ${mb(sample.heapTotalBytes).padStart(6)}  ` +
        `external ${mb(sample.externalBytes).padStart(6)}  ` +
        `loop p99 ${milliseconds(sample.loopP99Ms).padStart(8)}  handles ${String(sample.activeHandles ?? '-').padStart(3)}  ` +
        `req/s ${sample.rps === undefined ? '-' : Math.round(sample.rps).toLocaleString('en-US')}`,
    );
  };
  const loop = (async () => {
    let second = 0;
    while (!stopped) {
      await sampleOnce(second);
      second = Math.floor((performance.now() - started) / 1000) + 1;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + second * 1000 - performance.now())));
    }
  })();
  return {
    samples,
    setPhase(next) {
      phase = next;
      phaseStarted = performance.now();
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

interface SoakTargets {
  rssAtSettleBytes: number | undefined;
  rssEndBytes: number | undefined;
  rssPeakAfterSettleBytes: number | undefined;
  /** (end - at settle) / at settle: the target. */
  rssGrowth: number | undefined;
  rssPeakGrowth: number | undefined;
  /** Least-squares slope of RSS over the second half of the load: what a slow leak would show. */
  rssSlopeMbPerMin: number | undefined;
  handlesBaseline: number | undefined;
  handlesDuringLoadMax: number | undefined;
  handlesAfter: number | undefined;
  loopP99IdleMs: number | undefined;
  loopP99MedianMs: number | undefined;
  loopP99MaxMs: number | undefined;
  rssPass: boolean;
  handlesPass: boolean;
  requestsPass: boolean;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);

function evaluate(samples: readonly SoakSample[], load: CellResult): SoakTargets {
  const idle = samples.filter((s) => s.phase === 'idle');
  const loading = samples.filter((s) => s.phase === 'load');
  const after = samples.filter((s) => s.phase === 'cooldown');
  const settled = loading.filter((s) => s.phaseSecond >= SETTLE_S);
  const rssAtSettle = settled[0]?.rssBytes;
  const rssEnd = loading.at(-1)?.rssBytes;
  const peak = defined(settled.map((s) => s.rssBytes));
  const rssPeak = peak.length === 0 ? undefined : Math.max(...peak);
  const growth = (to: number | undefined) =>
    rssAtSettle === undefined || to === undefined ? undefined : (to - rssAtSettle) / rssAtSettle;
  // The scrape's own connection is a handle in every sample alike.
  const baseline = defined(idle.map((s) => s.activeHandles));
  const handlesBaseline = baseline.length === 0 ? undefined : Math.max(...baseline);
  const handlesAfter = after.at(-1)?.activeHandles;
  const loops = defined(loading.map((s) => s.loopP99Ms));
  const rssGrowth = growth(rssEnd);
  const half = loading.filter(
    (s) => s.phaseSecond >= (loading.at(-1)?.phaseSecond ?? 0) / 2 && s.rssBytes !== undefined,
  );
  return {
    rssAtSettleBytes: rssAtSettle,
    rssEndBytes: rssEnd,
    rssPeakAfterSettleBytes: rssPeak,
    rssGrowth,
    rssPeakGrowth: growth(rssPeak),
    rssSlopeMbPerMin:
      half.length < 3 ? undefined : (slope(half.map((s) => [s.second, s.rssBytes!])) * 60) / (1024 * 1024),
    handlesBaseline,
    handlesDuringLoadMax: Math.max(...defined(loading.map((s) => s.activeHandles))),
    handlesAfter,
    loopP99IdleMs: median(defined(idle.map((s) => s.loopP99Ms))),
    loopP99MedianMs: median(loops),
    loopP99MaxMs: loops.length === 0 ? undefined : Math.max(...loops),
    rssPass: rssGrowth !== undefined && rssGrowth < RSS_GROWTH_LIMIT,
    handlesPass: handlesBaseline !== undefined && handlesAfter !== undefined && handlesAfter <= handlesBaseline,
    requestsPass: load.errors === 0 && load.unexpected === 0,
  };
}

const pct = (f: number | undefined) => (f === undefined ? '-' : `${f >= 0 ? '+' : ''}${(f * 100).toFixed(1)}%`);
const verdict = (pass: boolean) => (pass ? 'pass' : 'MISS');

function soakTable(plan: SoakPlan, load: CellResult, r: SoakTargets): Table {
  return {
    title: `Soak: ${plan.loadS} s of load, ${plan.connections} connections, sampled every second`,
    align: ['left', 'right', 'left'],
    rows: [
      ['measure', 'value', 'target'],
      [
        'requests (req/s)',
        `${load.requests.toLocaleString('en-US')} (${Math.round(load.rps).toLocaleString('en-US')})`,
        '',
      ],
      ['errors / unexpected statuses', `${load.errors} / ${load.unexpected}`, `0 / 0: ${verdict(r.requestsPass)}`],
      [
        'statuses',
        Object.entries(load.statuses)
          .map(([s, n]) => `${s}: ${n.toLocaleString('en-US')}`)
          .join(', '),
        '',
      ],
      ['latency p50 / p99', `${milliseconds(load.p50Ms)} / ${milliseconds(load.p99Ms)}`, ''],
      [
        `RSS at ${SETTLE_S} s of load -> end`,
        `${mb(r.rssAtSettleBytes)} -> ${mb(r.rssEndBytes)} (${pct(r.rssGrowth)})`,
        `< +${RSS_GROWTH_LIMIT * 100}%: ${verdict(r.rssPass)}`,
      ],
      [`RSS peak after ${SETTLE_S} s`, `${mb(r.rssPeakAfterSettleBytes)} (${pct(r.rssPeakGrowth)})`, ''],
      [
        'RSS trend over the second half of the load',
        r.rssSlopeMbPerMin === undefined
          ? '-'
          : `${r.rssSlopeMbPerMin >= 0 ? '+' : ''}${r.rssSlopeMbPerMin.toFixed(2)} MB/min`,
        '',
      ],
      [
        'active handles: idle / load max / after',
        `${r.handlesBaseline ?? '-'} / ${r.handlesDuringLoadMax ?? '-'} / ${r.handlesAfter ?? '-'}`,
        `after <= idle: ${verdict(r.handlesPass)}`,
      ],
      [
        'event-loop p99 as scraped: idle / load median / load max',
        `${milliseconds(r.loopP99IdleMs)} / ${milliseconds(r.loopP99MedianMs)} / ${milliseconds(r.loopP99MaxMs)}`,
        'reported',
      ],
      [
        `  delay beyond the ${LOOP_TIMER_MS} ms sampling timer`,
        [r.loopP99IdleMs, r.loopP99MedianMs, r.loopP99MaxMs]
          .map((v) => milliseconds(v === undefined ? undefined : Math.max(0, v - LOOP_TIMER_MS)))
          .join(' / '),
        '',
      ],
    ],
  };
}

function machine() {
  const cpu =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return { nproc: os.availableParallelism(), cpu, node: process.version };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '60' },
      connections: { type: 'string', default: '10' },
      idle: { type: 'string', default: '5' },
    },
  });
  const plan: SoakPlan = {
    loadS: Number(values.duration),
    idleS: Number(values.idle),
    connections: Number(values.connections),
  };
  if (!(plan.loadS > SETTLE_S) || !(plan.connections >= 1) || !(plan.idleS >= 2)) {
    throw new Error(`--duration must exceed ${SETTLE_S}, --connections be at least 1, --idle at least 2`);
  }
  const begun = performance.now();
  const log = (line: string) =>
    process.stdout.write(`[${((performance.now() - begun) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  cleanUpOnExit();
  let child: Child;
  try {
    assertFreshBuild();
    child = await startEcadraft();
  } catch (error) {
    if (error instanceof StartError) {
      process.stderr.write(`soak: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const host = machine();
  log(
    `ecadraft pid ${child.pid} at ${child.url}, ready in ${Math.round(child.readyMs)} ms; ${host.nproc} x ${host.cpu}, Node ${host.node}`,
  );
  const ids = (await allTickets(child.url)).map((item) => item._id);
  // Built before the run: 2,000 per connection keeps that quick, and the uncacheable share still outgrows the response cache.
  const perConnection = 2000;
  const paths = Array.from({ length: plan.connections }, () => connectionPaths(ids, perConnection));
  let connection = 0;

  const sampler = startSampling(child, log);
  await sleep(plan.idleS * 1000);
  sampler.setPhase('load');
  const load = await runLoad(
    child.url,
    {
      path: '/tickets',
      connectionPaths: () => paths[connection++ % paths.length]!,
    },
    (status) => EXPECTED.has(status),
    { connections: plan.connections, pipelining: 1, durationS: plan.loadS },
    () => child.cpuSeconds(),
  );
  sampler.setPhase('cooldown');
  await sleep(plan.idleS * 1000);
  await sampler.stop();
  await child.stop();

  const samples = sampler.samples;
  const targets = evaluate(samples, load);
  const table = soakTable(plan, load, targets);
  process.stdout.write(`\n${renderText(table)}\n\n`);
  const finishedAt = new Date();
  const subtitle = `${host.nproc} x ${host.cpu}, Node ${host.node}; autocannon ${plan.connections} connections, ${plan.loadS} s; ${finishedAt.toISOString().slice(0, 10)}`;
  const results = {
    finishedAt: finishedAt.toISOString(),
    durationS: (performance.now() - begun) / 1000,
    machine: host,
    plan,
    load,
    targets,
    samples,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'soak-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(
    path.join(RESULTS_DIR, 'soak-latest.svg'),
    renderSoakChart(samples, {
      subtitle,
      settleS: SETTLE_S,
      rssAtSettleBytes: targets.rssAtSettleBytes,
      rssGrowthLimit: RSS_GROWTH_LIMIT,
    }),
  );
  log('wrote bench/results/soak-latest.json, bench/results/soak-latest.svg');
  const missed = [
    ...(targets.requestsPass
      ? []
      : [`${load.errors} errors and ${load.unexpected} unexpected statuses during the load`]),
    ...(targets.rssPass
      ? []
      : [`RSS grew ${pct(targets.rssGrowth)} after the first ${SETTLE_S} s (limit +${RSS_GROWTH_LIMIT * 100}%)`]),
    ...(targets.handlesPass
      ? []
      : [`active handles ${targets.handlesAfter} after the load, ${targets.handlesBaseline} before`]),
  ];
  if (samples.some((s) => !s.scraped))
    process.stderr.write(
      `soak: ${samples.filter((s) => !s.scraped).length} scrapes of /metrics failed; their points are missing\n`,
    );
  if (missed.length > 0) {
    process.stderr.write(`soak: MISSED\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
