// /metrics, and the fault knobs that make a sick canary for the mesh to eject.
import t from 'tap';
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
