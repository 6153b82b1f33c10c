// The canary toolkit (`ecadraft split` and `ecadraft load`) against real v1
// and v2 servers behind a weighted proxy whose weights come from the
// project's own VirtualService files, plus its pure modules on their own.
//
// Statistics and flakiness: a 95% Wilson interval misses the true share about
// 5% of the time, so a gate test on a truly random split would fail about one
// run in twenty. Two choices keep these tests exact and honest:
// - The proxy's choice is seeded. Every request consumes exactly one draw, so
//   the counts per version over N requests depend only on the seed and N,
//   never on timing or concurrency: each test gives the same answer on every
//   run, and the tool's counts must equal what the proxy forwarded.
// - The gates that must pass use --confidence 0.999, as a CI gate should, so
//   the seed is not a lucky pick either: any seed passes them with about
//   99.9% probability (at 95%, about one seed in ten failed some check).
//   The wrong weights sit 25 points away, about 10 standard errors at n=400,
//   where the 99.9% interval (about 3.3 standard errors) still rejects them.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parseAllDocuments } from 'yaml';
import { buildApp } from '../src/app.ts';
import { classify, customersOf, versionFromCustomers } from '../src/cli/classify.ts';
import { CliError } from '../src/cli/errors.ts';
import { checkExpect, describeCheck, parseExpect } from '../src/cli/expect.ts';
import { bar, percent, stackedBar, table } from '../src/cli/render.ts';
import { Client } from '../src/cli/request.ts';
import { sample } from '../src/cli/sampler.ts';
import { normalQuantile, percentile, wilson, zFor } from '../src/cli/stats.ts';
import { Tally } from '../src/cli/tally.ts';
import { loadConfig } from '../src/config.ts';
import { titleCase, upperCase, VERSION_NAMES } from '../src/format.ts';
import { type Backend, startWeightedProxy, type WeightedProxy } from './helpers/weighted-proxy.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli/ecadraft.js');
const SEED = 20200714;

// The CLI runs as a child from dist/ (npm test builds first); a stale build would test old code.
for (const file of readdirSync(path.join(ROOT, 'src/cli')).filter((f) => f.endsWith('.ts'))) {
  const built = path.join(ROOT, 'dist/cli', file.replace(/\.ts$/, '.js'));
  let fresh = false;
  try {
    fresh = statSync(built).mtimeMs >= statSync(path.join(ROOT, 'src/cli', file)).mtimeMs;
  } catch {
    // missing: not fresh
  }
  if (!fresh)
    throw new Error(
      `${path.relative(ROOT, built)} is missing or older than src/cli/${file}: run \`npm run build\` (npm test does)`,
    );
}

// ---------------------------------------------------------------------------
// Helpers

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; `whileRunning` sees stdout as it grows (to send a signal). */
function cli(args: string[], whileRunning?: (stdout: string, child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Plain node, as users run it: without tap's process-tracking loader in NODE_OPTIONS.
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      whileRunning?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

interface Route {
  subset: string;
  weight: number;
}

/** spec.http[0].route of a VirtualService step file (its first, ingress one); Istio's default weight is 100 for a lone route. */
function routeWeights(file: string): Route[] {
  const doc = parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8'))[0]?.toJS() as {
    spec: { http: { route: { destination: { subset: string }; weight?: number }[] }[] };
  };
  const routes = doc.spec.http[0]!.route;
  return routes.map((r) => ({ subset: r.destination.subset, weight: r.weight ?? (routes.length === 1 ? 100 : 0) }));
}

const expectation = (routes: readonly Route[]) => routes.map((r) => `${r.subset}=${r.weight}`).join(',');

/** The same two-version split moved 25 points, toward the smaller share. */
function wrong(routes: readonly Route[]): string {
  const [first, second] = VERSION_NAMES;
  const share = routes.find((r) => r.subset === first)?.weight ?? 0;
  const moved = share >= 50 ? share - 25 : share + 25;
  return `${first}=${moved},${second}=${100 - moved}`;
}

interface SplitJson {
  answers: number;
  versions: {
    version: string;
    count: number;
    share: number;
    low: number;
    high: number;
    non2xx: number;
    p50Ms?: number;
    p99Ms?: number;
  }[];
  classifiedBy: { header: number; casing: number; none: number };
  errors: { total: number };
  expect?: { ok: boolean; checks: { version: string; ok: boolean }[] };
}

const countOf = (report: SplitJson, version: string) => report.versions.find((v) => v.version === version)?.count ?? 0;

/** What a user sees for an error: one line on stderr, named, no stack trace. */
function assertOneLineError(t: Test, run: Run, pattern: RegExp): void {
  t.equal(run.code, 2, 'exit code 2');
  t.equal(run.stdout, '', 'nothing on stdout');
  const lines = run.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line: ${run.stderr}`);
  t.match(lines[0], pattern);
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

// ---------------------------------------------------------------------------
// Real servers, one per version, in this process

const backends = new Map<string, string>();
for (const version of VERSION_NAMES) {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version }));
  backends.set(version, await app.listen({ port: 0, host: '127.0.0.1' }));
  t.teardown(() => app.close());
}

const proxies: WeightedProxy[] = [];
t.teardown(() => Promise.all(proxies.map((p) => p.close())));

async function proxyFor(routes: readonly Route[], stripHeaders: string[] = []): Promise<WeightedProxy> {
  const list: Backend[] = routes.map((r) => ({ name: r.subset, url: backends.get(r.subset)!, weight: r.weight }));
  const proxy = await startWeightedProxy(list, { seed: SEED, stripHeaders });
  proxies.push(proxy);
  return proxy;
}

const fiftyFifty = routeWeights('kubernetes/ecadraft-virtual-service-50-50.yaml');

// ---------------------------------------------------------------------------
// Pure modules

t.test('stats: normal quantiles, Wilson intervals, percentiles', async (t) => {
  t.ok(Math.abs(zFor(0.95) - 1.959964) < 1e-6, 'z for 95%');
  t.ok(Math.abs(zFor(0.999) - 3.290527) < 1e-6, 'z for 99.9%');
  t.ok(Math.abs(normalQuantile(0.001) + 3.090232) < 1e-6, 'lower tail');
  t.equal(normalQuantile(0.5), 0);
  t.throws(() => zFor(1), RangeError);

  // Reference values (Wilson 1927; e.g. R's binom.wilson or statsmodels).
  const half = wilson(50, 100);
  t.ok(
    Math.abs(half.low - 0.403832) < 1e-6 && Math.abs(half.high - 0.596168) < 1e-6,
    `50/100: ${JSON.stringify(half)}`,
  );
  const none = wilson(0, 200);
  t.equal(none.low, 0);
  t.ok(none.high > 0 && none.high < 0.02, 'no successes still leaves room above 0');
  t.equal(wilson(200, 200).high, 1, 'all successes reach 100%');
  t.same(wilson(0, 0), { low: 0, high: 1 }, 'no data, no knowledge');
  const strict = wilson(50, 100, 0.999);
  t.ok(strict.low < half.low && strict.high > half.high, 'a higher confidence widens the interval');

  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(percentile(values, 0.5), 50);
  t.equal(percentile(values, 0.99), 99);
  t.equal(percentile([7], 0.99), 7);
  t.equal(percentile([], 0.5), undefined);
});

t.test('classify: header first, then the casing of customer names', async (t) => {
  const v1Page = JSON.stringify({ _items: [{ customer: 'Krajcik Inc' }, { customer: 'Mitchell - Rolfson' }] });
  const v2Page = JSON.stringify({ _items: [{ customer: 'KRAJCIK INC' }, { customer: 'MITCHELL - ROLFSON' }] });
  t.same(
    classify({ 'x-ecadraft-version': 'v2' }, v1Page),
    { by: 'header', version: 'v2' },
    'the header wins over the body',
  );
  t.same(
    classify({ 'X-Ecadraft-Version': ['v1'] }, ''),
    { by: 'header', version: 'v1' },
    'header names are case-insensitive',
  );
  t.same(
    classify({ 'x-ecadraft-version': 'v3' }, ''),
    { by: 'header', version: 'v3' },
    'a version named by the header is taken as is',
  );
  t.same(classify({}, v1Page), { by: 'casing', version: 'v1' });
  t.same(classify({}, v2Page), { by: 'casing', version: 'v2' });
  t.same(
    classify({}, JSON.stringify({ customer: 'MONAHAN LLC', status: 'Open' })),
    { by: 'casing', version: 'v2' },
    'one ticket',
  );
  t.match(
    classify({ 'x-ecadraft-version': '' }, '<html>'),
    { by: 'none', version: 'unknown', reason: 'not-json' },
    'an empty header is no header',
  );
  t.match(classify({}, '{"_links":{}}'), { reason: 'no-customers' });
  t.match(
    classify({}, JSON.stringify({ _items: [{ customer: 'Krajcik Inc' }, { customer: 'MONAHAN LLC' }] })),
    { reason: 'no-version-fits' },
    'a mixed page',
  );
  t.match(
    classify({}, JSON.stringify({ _items: [{ customer: '42' }, { customer: '1 - 800' }] })),
    { reason: 'several-fit' },
    'names without letters tell nothing',
  );
  t.same(customersOf({ _items: [{ customer: 'A' }, { status: 'Open' }, null] }), ['A']);

  // A v3 is one more entry in the formatter table; classification needs no change.
  const withV3 = {
    v1: { name: 'title-case', format: titleCase },
    v2: { name: 'upper-case', format: upperCase },
    v3: { name: 'lower-case', format: (c: string) => c.toLowerCase() },
  };
  t.same(versionFromCustomers(['krajcik inc', 'mitchell - rolfson'], withV3), { by: 'casing', version: 'v3' });
  t.same(versionFromCustomers(['Krajcik Inc'], withV3), { by: 'casing', version: 'v1' });

  // The real datasets: every page of each version, header removed, is classified right.
  for (const [version, url] of backends) {
    for (const page of [1, 2]) {
      const body = await (await fetch(`${url}/tickets?max_results=50&page=${page}`)).text();
      t.same(classify({}, body), { by: 'casing', version }, `${version} page ${page} by casing`);
    }
  }
});

t.test('expect: parsing and checking a split', async (t) => {
  t.same(
    [...parseExpect('v1=90,v2=10')],
    [
      ['v1', 90],
      ['v2', 10],
    ],
  );
  t.same(
    [...parseExpect(' v1 = 50% , v2=50 ')],
    [
      ['v1', 50],
      ['v2', 50],
    ],
  );
  t.same([...parseExpect('v1=100')], [['v1', 100]]);
  for (const [text, message] of [
    ['v1=50,v2=40', /add up to 90, not 100/],
    ['v1=50,V2=50', /unknown version "V2", expected one of v1, v2/],
    ['v1=50,v1=50', /v1 is given twice/],
    ['v1:50', /version=percent pairs/],
    ['v1=150,v2=-50', /v1=150 is more than 100%/],
    ['v1=-10,v2=110', /version=percent pairs/],
  ] as const) {
    t.throws(() => parseExpect(text), { name: 'CliError', message }, text);
  }

  const tally = new Tally();
  for (let i = 0; i < 360; i++) tally.addAnswer('v1', 200, 'header', 1);
  for (let i = 0; i < 40; i++) tally.addAnswer('v2', 200, 'header', 1);
  const summary = tally.summary(0.95);
  t.ok(
    checkExpect(summary, parseExpect('v1=90,v2=10')).every((c) => c.ok),
    '90/10 measured as 360/40 passes',
  );
  const off = checkExpect(summary, parseExpect('v1=50,v2=50'));
  t.same(
    off.map((c) => [c.version, c.ok]),
    [
      ['v1', false],
      ['v2', false],
    ],
  );
  t.equal(
    describeCheck(off[1]!, summary),
    'v2 is off by -40.0 points: measured 10.0% (95% CI [7.4%, 13.3%], n=400), expected 50.0%',
  );
  const unnamed = checkExpect(summary, parseExpect('v1=100'));
  t.same(
    unnamed.map((c) => [c.version, c.expected, c.ok]),
    [
      ['v1', 1, false],
      ['v2', 0, false],
    ],
    'a version that answered but was not named is expected at 0%',
  );

  const all = new Tally();
  for (let i = 0; i < 200; i++) all.addAnswer('v1', 200, 'header');
  t.ok(
    checkExpect(all.summary(), parseExpect('v1=100')).every((c) => c.ok),
    '200 of 200 passes v1=100 (no rounding trap at the edge)',
  );
  t.ok(
    checkExpect(all.summary(), parseExpect('v1=100,v2=0')).every((c) => c.ok),
    'and v2=0',
  );
});

t.test('tally: rows, failures, order', async (t) => {
  const tally = new Tally();
  tally.add({ kind: 'answer', status: 200, version: 'v2', by: 'header', ms: 3 });
  tally.add({ kind: 'answer', status: 500, version: 'v2', by: 'header', ms: 5 });
  tally.add({ kind: 'answer', status: 200, version: 'v3', by: 'header', ms: 1 });
  tally.add({ kind: 'answer', status: 503, version: 'unknown', by: 'none', ms: 1 });
  tally.add({ kind: 'error', error: 'timeout', detail: 'no answer within 5 ms', ms: 5 });
  const summary = tally.summary();
  t.same(
    summary.versions.map((r) => [r.version, r.count, r.non2xx]),
    [
      ['v1', 0, 0],
      ['v2', 2, 1],
      ['v3', 1, 0],
      ['unknown', 1, 1],
    ],
    'known versions first (even when silent), then versions named by a header, unknown last',
  );
  t.equal(summary.answers, 4, 'failures are not answers: they are not part of any share');
  t.equal(summary.non2xx, 2);
  t.same(summary.errors, { total: 1, byKind: { timeout: 1 }, last: 'no answer within 5 ms' });
  t.same(summary.classifiedBy, { header: 3, casing: 0, none: 1 });
  t.equal(summary.versions[1]!.p99Ms, 5);
  t.equal(summary.versions[1]!.share, 0.5);
});

t.test('render: bars and tables', async (t) => {
  t.equal(bar(0.5, 10), '█████░░░░░');
  t.equal(bar(0, 4), '░░░░');
  t.equal(bar(1, 4), '████');
  t.equal(bar(0.0625, 2), '▏░', 'eighths of a cell');
  for (const shares of [
    [0.5, 0.5],
    [0.9, 0.1],
    [1 / 3, 1 / 3, 1 / 3],
    [0.999, 0.001],
  ]) {
    t.equal([...stackedBar(shares, 30)].length, 30, `a stacked bar keeps its width: ${shares.join(', ')}`);
  }
  t.equal(stackedBar([0.9, 0.1], 10), '█████████▒');
  t.equal(percent(0), '0%');
  t.equal(percent(1), '100%');
  t.equal(percent(0.4853), '48.5%');
  t.same(
    table(
      [
        ['a', 'bb'],
        ['ccc', 'd'],
      ],
      ['left', 'right'],
    ),
    ['a    bb', 'ccc   d'],
  );
});

t.test('sampler: exact count, bounded concurrency, fail fast before the first answer', async (t) => {
  let inFlight = 0;
  let most = 0;
  const server = http.createServer((_request, response) => {
    inFlight++;
    most = Math.max(most, inFlight);
    setTimeout(() => {
      inFlight--;
      response.writeHead(200, { 'x-ecadraft-version': 'v1' }).end('{}');
    }, 2);
  });
  const url = await listen(server);
  t.teardown(() => close(server));
  const client = new Client(new URL(url), { timeoutMs: 2000, maxSockets: 4 });
  const seen: string[] = [];
  await sample({ client, count: 37, concurrency: 4, onOutcome: (o) => seen.push(o.kind) });
  client.close();
  t.equal(seen.length, 37);
  t.ok(seen.every((kind) => kind === 'answer'));
  t.ok(most > 1 && most <= 4, `concurrent, at most 4 in flight (saw ${most})`);

  const closed = http.createServer();
  const closedUrl = await listen(closed);
  await close(closed);
  const dead = new Client(new URL(closedUrl), { timeoutMs: 2000, maxSockets: 10 });
  const started = Date.now();
  await t.rejects(sample({ client: dead, count: 1000, concurrency: 10, onOutcome: () => undefined }), CliError);
  dead.close();
  t.ok(Date.now() - started < 1000, 'a dead target ends the run at once');
});

// ---------------------------------------------------------------------------
// `ecadraft split` against the VirtualService weights

for (const name of ['v1', '90-10', '50-50', 'v2']) {
  const file = `kubernetes/ecadraft-virtual-service-${name}.yaml`;
  t.test(`split --expect with the weights of ${file}`, async (t) => {
    const routes = routeWeights(file);
    t.equal(
      routes.reduce((sum, r) => sum + r.weight, 0),
      100,
      'the weights add up to 100',
    );
    const proxy = await proxyFor(routes);

    const pass = await cli([
      'split',
      '--requests',
      '400',
      '--confidence',
      '0.999',
      '--expect',
      expectation(routes),
      '--json',
      `${proxy.url}/tickets`,
    ]);
    t.equal(pass.code, 0, `passes: ${pass.stderr}`);
    const report = JSON.parse(pass.stdout) as SplitJson;
    t.equal(report.answers, 400);
    t.equal(report.errors.total, 0);
    t.equal(report.expect?.ok, true);
    for (const version of VERSION_NAMES) {
      t.equal(
        countOf(report, version),
        proxy.forwarded.get(version) ?? 0,
        `${version}: counted as the proxy forwarded`,
      );
    }
    t.equal(report.classifiedBy.header, 400, 'by the header');
    for (const row of report.versions.filter((r) => r.count > 0)) {
      t.ok(row.p50Ms !== undefined && row.p99Ms! >= row.p50Ms, `${row.version} has latencies`);
    }

    const bad = wrong(routes);
    const fail = await cli([
      'split',
      '--requests',
      '400',
      '--confidence',
      '0.999',
      '--expect',
      bad,
      `${proxy.url}/tickets`,
    ]);
    t.equal(fail.code, 1, `--expect ${bad} fails`);
    t.match(fail.stdout, /expect .*: FAILED/);
    const lines = fail.stderr.trim().split('\n');
    t.ok(
      lines.length >= 1 &&
        lines.every((l) => /^ecadraft: v\d is off by [+-]\d+\.\d points: measured .* expected \d+\.\d%$/.test(l)),
      fail.stderr,
    );
    const offBy = [...fail.stderr.matchAll(/is off by ([+-]\d+\.\d) points/g)].map((m) => Math.abs(Number(m[1])));
    t.ok(
      offBy.length > 0 && offBy.every((points) => points > 15 && points < 35),
      `off by about the 25 points it was moved: ${offBy.join(', ')}`,
    );
  });
}

t.test('split: human output, with the interval a CI gate uses', async (t) => {
  const proxy = await proxyFor(routeWeights('kubernetes/ecadraft-virtual-service-90-10.yaml'));
  const run = await cli([
    'split',
    '-n',
    '300',
    '-c',
    '5',
    '--confidence',
    '0.999',
    '--expect',
    'v1=90,v2=10',
    `${proxy.url}/tickets`,
  ]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^split of http:\/\/127\.0\.0\.1:\d+\/tickets: 300 requests, concurrency 5\n/);
  t.match(run.stdout, /version\s+answers\s+share\s+99\.9% CI\s+p50\s+p99\s+non-2xx/);
  t.match(run.stdout, /\nv1\s+\d+\s+\d+\.\d%\s+\[\d+\.\d%, \d+\.\d%\]\s+[\d.]+ ms\s+[\d.]+ ms\s+0\n/);
  t.match(run.stdout, /answers: 300 \(by header 300, by casing 0, unclassified 0\); non-2xx: 0; errors: 0/);
  t.match(run.stdout, /expect v1=90%, v2=10%: ok/);
});

t.test('split: the casing fallback when a proxy strips the header', async (t) => {
  const proxy = await proxyFor(fiftyFifty, ['x-ecadraft-version']);
  const direct = await fetch(`${proxy.url}/tickets`);
  await direct.text();
  t.equal(direct.headers.get('x-ecadraft-version'), null, 'the fixture really strips it');

  const before = new Map(proxy.forwarded);
  const run = await cli([
    'split',
    '--requests',
    '400',
    '--confidence',
    '0.999',
    '--expect',
    expectation(fiftyFifty),
    '--json',
    `${proxy.url}/tickets`,
  ]);
  t.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as SplitJson;
  t.same(report.classifiedBy, { header: 0, casing: 400, none: 0 });
  for (const version of VERSION_NAMES) {
    t.equal(
      countOf(report, version),
      (proxy.forwarded.get(version) ?? 0) - (before.get(version) ?? 0),
      `${version} by casing`,
    );
  }

  // The home page names no customer: without the header nothing can tell, and a gate must not pass.
  const blind = await cli([
    'split',
    '--requests',
    '20',
    '--expect',
    expectation(fiftyFifty),
    '--json',
    `${proxy.url}/`,
  ]);
  t.equal(blind.code, 1);
  t.equal(countOf(JSON.parse(blind.stdout) as SplitJson, 'unknown'), 20);
  t.match(blind.stderr, /^ecadraft: v1 is off by -50\.0 points/m);
  t.match(blind.stderr, /^ecadraft: unknown is off by \+100\.0 points: measured 100% .* expected 0%$/m);
});

t.test('split --watch: a line per second, a summary on SIGINT', async (t) => {
  const proxy = await proxyFor(routeWeights('kubernetes/ecadraft-virtual-service-90-10.yaml'));
  let signalled = false;
  const run = await cli(
    ['split', '--watch', '--window', '2', '--rate', '100', `${proxy.url}/tickets`],
    (stdout, child) => {
      if (!signalled && (stdout.match(/^\d\d:\d\d:\d\d {2}n=\d+/gm) ?? []).length >= 2) {
        signalled = true;
        child.kill('SIGINT');
      }
    },
  );
  t.equal(run.code, 0, `stops cleanly: ${run.stderr}`);
  t.equal(run.stderr, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI sequences this looks for.
  t.notMatch(run.stdout, /\x1b\[/, 'no ANSI redraw when stdout is not a terminal');
  const ticks =
    run.stdout.match(/^\d\d:\d\d:\d\d {2}n=(\d+) {2}v1 \d+\.?\d*% {2}v2 \d+\.?\d*% {2}non-2xx 0 {2}errors 0$/gm) ?? [];
  t.ok(ticks.length >= 2, run.stdout);
  t.match(
    run.stdout,
    /\nstopped after \d+ s; the whole run:\nversion\s+answers\s+share\s+95% CI\s+p50\s+p99\s+non-2xx\n/,
  );
  const total = /answers: (\d+) \(by header (\d+)/.exec(run.stdout);
  t.ok(
    total && Number(total[1]) > 50 && total[1] === total[2],
    `the summary covers the whole run: ${total?.[1]} answers`,
  );
});

// ---------------------------------------------------------------------------
// `ecadraft load`

t.test('load: per-version tally and timeline against a 50/50 proxy', async (t) => {
  const proxy = await proxyFor(fiftyFifty);
  const connections = 4;
  const run = await cli([
    'load',
    '--duration',
    '2',
    '--connections',
    String(connections),
    '--json',
    `${proxy.url}/tickets`,
  ]);
  t.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as SplitJson & {
    autocannon: { statusCodeStats: Record<string, { count: number }>; errors: number; non2xx: number };
    timeline: { second: number; answers: number; versions: Record<string, number>; errors: number }[];
  };
  const answered = Object.values(report.autocannon.statusCodeStats).reduce((sum, s) => sum + s.count, 0);
  t.ok(answered > 200, `enough requests to mean something (${answered})`);
  t.equal(report.answers, answered, 'every answer autocannon counted was tallied');
  t.equal(report.autocannon.errors, 0);
  t.equal(report.autocannon.non2xx, 0);
  t.same(report.classifiedBy, { header: answered, casing: 0, none: 0 });
  for (const version of VERSION_NAMES) {
    const counted = countOf(report, version);
    // The proxy's count includes the preflight request and the few in flight when autocannon stops.
    const forwarded = proxy.forwarded.get(version) ?? 0;
    t.ok(
      counted <= forwarded && forwarded - counted <= connections + 1,
      `${version}: ${counted} tallied, ${forwarded} forwarded`,
    );
    t.ok(counted / answered > 0.4 && counted / answered < 0.6, `${version} near half (${percent(counted / answered)})`);
  }
  t.same(
    report.timeline.map((s) => s.second),
    [1, 2],
  );
  t.equal(
    report.timeline.reduce((sum, s) => sum + s.answers, 0),
    answered,
    'the timeline accounts for every answer',
  );
  for (const second of report.timeline) {
    t.ok(
      VERSION_NAMES.every((v) => (second.versions[v] ?? 0) > 0),
      `both versions answered in second ${second.second}`,
    );
  }
});

t.test('load: human output', async (t) => {
  const proxy = await proxyFor(routeWeights('kubernetes/ecadraft-virtual-service-v2.yaml'));
  const run = await cli(['load', '-d', '1', '-c', '2', '--rate', '200', `${proxy.url}/tickets`]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^load on http:\/\/127\.0\.0\.1:\d+\/tickets: 1 s, 2 connections, 200 req\/s\n/);
  t.match(run.stdout, /Latency/);
  t.match(run.stdout, /Req\/Sec/);
  t.match(run.stdout, /\nv1\s+0\s+0%/);
  t.match(run.stdout, /\nv2\s+\d+\s+100%/);
  t.match(
    run.stdout,
    /share per second \(█ v1 {2}▒ v2\):\nsecond\s+answers\s+share\s+v1\s+v2\s+non-2xx\s+errors\n\s+1s\s+\d+\s+▒{30}\s+0%\s+100%\s+0\s+0$/m,
  );
});

// ---------------------------------------------------------------------------
// One-line errors

t.test('errors are one line, exit code 2, no stack trace', async (t) => {
  const closed = http.createServer();
  const closedUrl = await listen(closed);
  await close(closed);
  const html = http.createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
  );
  const htmlUrl = await listen(html);
  const silent = http.createServer(() => undefined);
  const silentUrl = await listen(silent);
  t.teardown(() => Promise.all([close(html), close(silent)]));

  const port = new URL(closedUrl).port;
  assertOneLineError(
    t,
    await cli(['split', `${closedUrl}/tickets`]),
    new RegExp(
      `^ecadraft: cannot reach http://127\\.0\\.0\\.1:${port}/tickets: connection refused \\(ECONNREFUSED\\)$`,
    ),
  );
  assertOneLineError(t, await cli(['load', `${closedUrl}/tickets`]), /^ecadraft: cannot reach .*connection refused/);
  assertOneLineError(
    t,
    await cli(['split', 'localhost:8080/tickets']),
    /^ecadraft: invalid URL "localhost:8080\/tickets": the scheme must be http or https/,
  );
  assertOneLineError(
    t,
    await cli(['split', 'not a url']),
    /^ecadraft: invalid URL "not a url": expected an absolute http:\/\/ or https:\/\/ URL/,
  );
  assertOneLineError(
    t,
    await cli(['split', `${htmlUrl}/`]),
    /^ecadraft: unexpected answer from http:\/\/.*: 200 \(text\/html\) is not JSON and has no x-ecadraft-version header; is it an ecadraft service\?$/,
  );
  const started = Date.now();
  assertOneLineError(
    t,
    await cli(['split', '--timeout', '200', `${silentUrl}/tickets`]),
    /^ecadraft: timed out waiting for http:\/\/.*: no answer within 200 ms \(--timeout\)$/,
  );
  t.ok(Date.now() - started < 3000, 'a timeout ends the run after one timeout, not N');
  assertOneLineError(
    t,
    await cli(['split', '--requests', 'many', htmlUrl]),
    /^ecadraft: invalid --requests "many": expected an integer from 1/,
  );
  assertOneLineError(
    t,
    await cli(['split', '--expect', 'v1=60,v2=50', htmlUrl]),
    /^ecadraft: invalid --expect "v1=60,v2=50": the shares add up to 110, not 100$/,
  );
  assertOneLineError(
    t,
    await cli(['split', '--watch', '--expect', 'v1=100', htmlUrl]),
    /^ecadraft: --expect cannot be combined with --watch/,
  );
  assertOneLineError(
    t,
    await cli(['split', '--frobnicate', htmlUrl]),
    /^ecadraft: split: Unknown option '--frobnicate' \(see ecadraft --help\)$/,
  );
  assertOneLineError(t, await cli(['deploy']), /^ecadraft: unknown command "deploy": expected split or load/);

  const help = await cli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: ecadraft <command> \[options\] <url>/);
  t.match(help.stdout, /--expect <split>/);
});
