// `ecadraft load` as a user runs it (node dist/cli/ecadraft.js), against real
// v1 and v2 servers behind a weighted proxy with the weights of the
// repository's VirtualService files: the per-version tally, the timeline and
// the human output.
import t from 'tap';
import { percent } from '../../src/cli/render.ts';
import { routeWeights } from '../../src/demo/weighted-proxy.ts';
import { VERSION_NAMES } from '../../src/versions.ts';
import { type Canary, cli, countOf, fiftyFifty, type SplitJson, startCanary, vsFile } from '../helpers/canary.ts';

const canary: Canary = await startCanary(t);

t.test('load: per-version tally and timeline against a 50/50 proxy', async (t) => {
  const proxy = await canary.proxyFor(fiftyFifty);
  const connections = 4;
  const run = await cli(t, [
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
  const proxy = await canary.proxyFor(routeWeights(vsFile('v2')));
  const run = await cli(t, ['load', '-d', '1', '-c', '2', '--rate', '200', `${proxy.url}/tickets`]);
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
