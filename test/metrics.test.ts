// /metrics, and the fault knobs that make a sick canary for the mesh to eject.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { LATENCY_BUCKETS } from '../src/request-metrics.ts';
import { appFor, closeApps, get } from './helpers/app.ts';

t.teardown(closeApps);

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const [version, formatter] of [
  ['v1', 'title-case'],
  ['v2', 'upper-case'],
] as const) {
  t.test(`metrics count requests per route, status and version (${version})`, async (t) => {
    const app = await appFor(version, { SEED: '5' });
    for (let i = 0; i < 3; i++) await get(app, '/tickets');
    await get(app, '/tickets?where=5');
    await get(app, '/nope');
    await app.request({ method: 'DELETE', url: '/tickets' });
    const res = await get(app, '/metrics');
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    t.equal(res.headers['x-ecadraft-version'], version);
    const text = res.body;
    const labels = (route: string, method: string, code: number) =>
      `{route="${route}",method="${method}",status_code="${code}",version="${version}"}`;
    t.equal(sample(text, `ecadraft_http_requests_total${labels('/tickets', 'GET', 200)}`), 3);
    t.equal(sample(text, `ecadraft_http_requests_total${labels('/tickets', 'GET', 400)}`), 1);
    t.equal(sample(text, `ecadraft_http_requests_total${labels('unmatched', 'GET', 404)}`), 1);
    t.equal(sample(text, `ecadraft_http_requests_total${labels('unmatched', 'DELETE', 405)}`), 1);
    t.equal(sample(text, `ecadraft_http_request_duration_seconds_count${labels('/tickets', 'GET', 200)}`), 3);
    t.equal(sample(text, `ecadraft_info{version="${version}",formatter="${formatter}"}`), 1);
    t.match(text, /^process_cpu_user_seconds_total \d/m, 'default process metrics');
    t.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
  });
}

t.test('the latency histogram: cumulative buckets that agree with the count and the requests', async (t) => {
  const app = await appFor('v1', { FAULT_DELAY_MS: '30' });
  for (let i = 0; i < 5; i++) await get(app, '/tickets');
  for (let i = 0; i < 4; i++) await get(app, '/healthz');
  const text = (await get(app, '/metrics')).body;
  for (const route of ['/tickets', '/healthz']) {
    const labels = `route="${route}",method="GET",status_code="200",version="v1"`;
    const count = sample(text, `ecadraft_http_request_duration_seconds_count{${labels}}`)!;
    t.equal(count, sample(text, `ecadraft_http_requests_total{${labels}}`), `${route}: _count equals the requests`);
    const buckets = [...LATENCY_BUCKETS.map(String), '+Inf'].map(
      (le) => sample(text, `ecadraft_http_request_duration_seconds_bucket{le="${le}",${labels}}`)!,
    );
    t.same(
      buckets,
      [...buckets].sort((a, b) => a - b),
      `${route}: buckets never decrease`,
    );
    t.equal(buckets.at(-1), count, `${route}: +Inf holds every request`);
    const sum = sample(text, `ecadraft_http_request_duration_seconds_sum{${labels}}`)!;
    if (route === '/tickets') {
      // Each waited FAULT_DELAY_MS (30 ms; a timer may fire a millisecond early): none fits the buckets up to 25 ms.
      t.same(buckets.slice(0, 6), [0, 0, 0, 0, 0, 0], '/tickets: nothing under 25 ms');
      t.ok(sum >= 5 * 0.029, `/tickets: sum ${sum} s holds five waits of 30 ms`);
    } else {
      t.ok(sum > 0 && sum < 4 * 2.5, `/healthz: sum ${sum} s`);
    }
  }
});

t.test("Prometheus's own tooling reads the page, and finds nothing to say of ecadraft's families", async (t) => {
  const app = await appFor('v2');
  await get(app, '/tickets');
  await get(app, '/nope');
  const text = (await get(app, '/metrics')).body;
  // promtool comes with Debian's prometheus, which .ci/run installs.
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (check.error) {
    if (process.env.CI) t.fail(`promtool: ${check.error.message}`);
    else t.plan(0, 'promtool is not installed (apt install prometheus)');
    return;
  }
  const said = `${check.stdout}${check.stderr}`.split('\n').filter((line) => line.trim() !== '');
  // Exit 3 is lint findings; a page that does not parse exits 1.
  t.not(check.status, 1, `promtool parsed the page\n${said.join('\n')}`);
  t.ok(
    said.every((line) => /^(nodejs|process)_/.test(line)),
    `only prom-client's default metrics are linted:\n${said.join('\n')}`,
  );
});

t.test('FAULT_ERROR_RATE fails that share of Eve requests, never the probes', async (t) => {
  const app = await appFor('v2', { FAULT_ERROR_RATE: '0.3' });
  const n = 1000;
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const res = await get(app, i % 2 ? '/tickets' : '/');
    if (res.statusCode === 500) {
      failed++;
      t.equal(res.headers['x-ecadraft-fault'], 'error');
      t.equal(res.headers['x-ecadraft-version'], 'v2');
      t.equal(res.json()._status, 'ERR');
      t.equal(res.json()._error.code, 500);
    } else {
      t.equal(res.statusCode, 200);
    }
  }
  // Binomial(1000, 0.3): mean 300, sd 14.5; six sd either side leaves a false alarm at odds of a billion to one.
  t.ok(failed > 213 && failed < 387, `${failed} of ${n} failed`);
  for (const url of ['/healthz', '/readyz', '/metrics', '/version']) {
    for (let i = 0; i < 100; i++) {
      const res = await get(app, url);
      if (res.statusCode === 500 || res.headers['x-ecadraft-fault']) t.fail(`${url} was faulted`);
    }
  }
  const metrics = (await get(app, '/metrics')).body;
  t.ok(
    sample(metrics, 'ecadraft_http_requests_total{route="/tickets",method="GET",status_code="500",version="v2"}')! > 0,
    'the errors show in the metrics',
  );
});

t.test('FAULT_ERROR_RATE=1 fails every Eve request', async (t) => {
  const app = await appFor('v1', { FAULT_ERROR_RATE: '1' });
  for (const url of ['/', '/tickets', '/tickets?max_results=1']) {
    t.equal((await get(app, url)).statusCode, 500, url);
    t.equal((await get(app, url)).statusCode, 500, `${url} again: a cached page is faulted too`);
  }
  t.equal((await get(app, '/healthz')).statusCode, 200);
});

t.test('FAULT_DELAY_MS delays Eve requests only', async (t) => {
  const app = await appFor('v1', { FAULT_DELAY_MS: '150-200' });
  const timed = async (url: string) => {
    const start = performance.now();
    const res = await get(app, url);
    return { status: res.statusCode, ms: performance.now() - start };
  };
  for (const url of ['/tickets', '/tickets', '/']) {
    const { status, ms } = await timed(url);
    t.equal(status, 200);
    t.ok(ms >= 149, `${url} waited ${ms.toFixed(0)} ms`);
  }
  const probe = await timed('/healthz');
  t.ok(probe.ms < 150, `a probe is not delayed (${probe.ms.toFixed(0)} ms)`);
});
