// `ecadraft split` as a user runs it (node dist/cli/ecadraft.js), against
// real v1 and v2 servers behind a weighted proxy whose weights come from the
// repository's own VirtualService files: the counts, the gate, the human
// output, the casing fallback and --watch.
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
import t from 'tap';
import { routeWeights } from '../../src/demo/weighted-proxy.ts';
import { VERSION_NAMES } from '../../src/versions.ts';
import {
  type Canary,
  cli,
  countOf,
  expectation,
  fiftyFifty,
  type SplitJson,
  startCanary,
  vsFile,
  wrong,
} from '../helpers/canary.ts';

const canary: Canary = await startCanary(t);

/** `split` as a CI gate: 400 requests, the 99.9% interval, the expected split. */
const gate = (expect: string, url: string, ...options: string[]) => [
  'split',
  '--requests',
  '400',
  '--confidence',
  '0.999',
  '--expect',
  expect,
  ...options,
  url,
];

for (const name of ['v1', '90-10', '50-50', 'v2']) {
  const file = vsFile(name);
  t.test(`split --expect with the weights of ${file}`, async (t) => {
    const routes = routeWeights(file);
    t.equal(
      routes.reduce((sum, r) => sum + r.weight, 0),
      100,
      'the weights add up to 100',
    );
    const proxy = await canary.proxyFor(routes);

    const pass = await cli(t, gate(expectation(routes), `${proxy.url}/tickets`, '--json'));
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
    const fail = await cli(t, gate(bad, `${proxy.url}/tickets`));
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
  const proxy = await canary.proxyFor(routeWeights(vsFile('90-10')));
  const run = await cli(t, [
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

t.test('split: 100% is written one way, and only for all', async (t) => {
  // All of 1000 answers from v1: its interval reaches exactly 100%, the other's starts at exactly 0%.
  const proxy = await canary.proxyFor(routeWeights(vsFile('v1')));
  const run = await cli(t, ['split', '-n', '1000', '-c', '20', `${proxy.url}/tickets`]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /\nv1\s+1000\s+100%\s+\[99\.6%, 100%\]\s/);
  t.match(run.stdout, /\nv2\s+0\s+0%\s+\[0%, 0\.4%\]\s/);
  t.notMatch(run.stdout, /100\.0%|\b0\.0%/, 'never a rounded 100.0% or 0.0%');
});

t.test('split: the casing fallback when a proxy strips the header', async (t) => {
  const proxy = await canary.proxyFor(fiftyFifty, ['x-ecadraft-version']);
  const direct = await fetch(`${proxy.url}/tickets`);
  await direct.text();
  t.equal(direct.headers.get('x-ecadraft-version'), null, 'the fixture really strips it');

  const before = new Map(proxy.forwarded);
  const run = await cli(t, gate(expectation(fiftyFifty), `${proxy.url}/tickets`, '--json'));
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
  const blind = await cli(t, [
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
  const proxy = await canary.proxyFor(routeWeights(vsFile('90-10')));
  const run = await cli(
    t,
    ['split', '--watch', '--window', '2', '--rate', '100', `${proxy.url}/tickets`],
    async (child) => {
      await child.waitFor(
        'two lines of --watch',
        () => ((child.stdout.match(/^\d\d:\d\d:\d\d {2}n=\d+/gm) ?? []).length >= 2 ? true : undefined),
        20_000,
      );
      child.signal('SIGINT');
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
