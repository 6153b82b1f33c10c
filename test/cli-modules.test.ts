// The modules of the canary CLI (`ecadraft split` and `ecadraft load`) on
// their own, in process: statistics, classification of an answer, --expect,
// the tally, rendering, and the sampler against a throwaway server. The
// commands themselves run as real processes in test/process/split.test.ts,
// load.test.ts and cli-errors.test.ts.
import http from 'node:http';
import t from 'tap';
import { classify, customersOf, versionFromCustomers } from '../src/cli/classify.ts';
import { CliError } from '../src/cli/errors.ts';
import { checkExpect, describeCheck, parseExpect } from '../src/cli/expect.ts';
import { bar, interval, percent, stackedBar, table } from '../src/cli/render.ts';
import { Client } from '../src/cli/request.ts';
import { sample } from '../src/cli/sampler.ts';
import { normalQuantile, percentile, wilson, zFor } from '../src/cli/stats.ts';
import { Tally } from '../src/cli/tally.ts';
import { titleCase, upperCase, VERSION_NAMES } from '../src/versions.ts';
import { appFor, closeApps } from './helpers/app.ts';
import { close, listen } from './helpers/http.ts';

t.teardown(closeApps);

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
  t.equal(wilson(1000, 1000).high, 1, 'exactly, where floating point alone would land an ulp short');
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
  for (const version of VERSION_NAMES) {
    const app = await appFor(version);
    for (const page of [1, 2]) {
      const { body } = await app.request(`/tickets?max_results=50&page=${page}`);
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
  // 999 of 1000: the upper bound is not all, so it must not read like the 100% of 1000 of 1000.
  t.equal(interval(wilson(999, 1000)), '[99.4%, >99.9%]');
  t.equal(interval(wilson(1000, 1000)), '[99.6%, 100%]');
  t.equal(interval(wilson(1, 1000)), '[<0.1%, 0.6%]');
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
