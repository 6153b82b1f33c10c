// Cache hits are answered before Fastify; they must be byte-for-byte the answers Fastify gives.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { generateDataset } from '../src/dataset.ts';
import { Draining } from '../src/draining.ts';
import { createFastPath } from '../src/fastpath.ts';
import { FORMATTERS } from '../src/format.ts';
import { Metrics } from '../src/metrics.ts';
import { Store } from '../src/store.ts';
import { rawRequest } from './helpers/http.ts';

const listen = async (server: ReturnType<typeof createServer>) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

t.test('only cache hits of GET and HEAD on the Eve paths take the fast path', async (t) => {
  const store = new Store(generateDataset(100, 1, FORMATTERS.v2.format));
  const draining = new Draining();
  const fast = createFastPath({
    store,
    version: 'v2',
    draining,
    metrics: new Metrics('v2', 'upper-case'),
    maxUrlLength: 100,
  });
  const id = JSON.parse(store.collection('').body.toString())._items[0]._id;
  // An answer is cached the second time it is asked for.
  for (const round of [1, 2]) {
    store.collection('');
    store.collection('max_results=3');
    store.item(id, '');
    if (round === 1) t.equal(store.cached('/tickets?max_results=3'), undefined, 'not cached on first sight');
  }
  let fallbacks = 0;
  const server = createServer((req, res) => {
    if (fast(req, res)) return;
    fallbacks++;
    res.writeHead(599).end();
  });
  const base = await listen(server);
  t.teardown(() => server.close());
  const expectations: [string, string, number][] = [
    ['GET', '/tickets?max_results=3', 200],
    ['GET', '/tickets/?max_results=3', 200],
    ['HEAD', '/tickets', 200],
    ['GET', `/tickets/${id}`, 200],
    ['GET', `/tickets/${id}/`, 200],
    ['GET', '/tickets?max_results=4', 599],
    ['POST', '/tickets', 599],
    ['GET', '/', 599],
    ['GET', '/tickets//', 599],
    ['GET', `/tickets/${id.toUpperCase()}`, 599],
    ['GET', `/tickets?${'x'.repeat(100)}`, 599],
  ];
  for (const [method, path, status] of expectations) {
    const res = await rawRequest(base + path, { method });
    t.equal(res.status, status, `${method} ${path}`);
    if (status === 200) t.equal(res.headers['x-ecadraft-version'], 'v2');
  }
  t.equal(fallbacks, 6);
  const etag = (await rawRequest(`${base}/tickets`)).headers.etag!;
  const notModified = await rawRequest(`${base}/tickets`, { headers: { 'if-none-match': etag } });
  t.equal(notModified.status, 304);
  t.equal(notModified.body.length, 0);
  t.equal(notModified.headers.etag, etag);
  draining.active = true;
  t.equal((await rawRequest(`${base}/tickets`)).headers.connection, 'close', 'draining closes each connection');
});

t.test('a served answer is the same bytes whether Fastify or the fast path sends it', async (t) => {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const id = (await app.inject('/tickets')).json()._items[5]._id;
  const urls = [
    '/tickets',
    '/tickets/?page=2&pretty',
    '/tickets?where=status==Open&sort=-customer&x=%C3%A9',
    `/tickets/${id}`,
    `/tickets/${id}?projection={"status":1}`,
    '/tickets?page=99',
  ];
  const comparable = (res: Awaited<ReturnType<typeof rawRequest>>) => {
    const { date, ...headers } = res.headers;
    return { status: res.status, headers, body: res.body.toString() };
  };
  for (const url of urls) {
    for (const method of ['GET', 'HEAD']) {
      // Fastify answers twice (the store caches an answer on its second request), then the fast path.
      const first = comparable(await rawRequest(base + url, { method }));
      await rawRequest(base + url, { method });
      const third = comparable(await rawRequest(base + url, { method }));
      t.equal(first.status, 200, `${method} ${url}`);
      t.same(third, first, `${method} ${url}`);
      t.same(Object.keys(third.headers), Object.keys(first.headers), 'same header order');
      const conditional = { 'if-none-match': first.headers.etag as string };
      t.same(comparable(await rawRequest(base + url, { method, headers: conditional })).status, 304);
    }
  }
  const metrics = (await rawRequest(`${base}/metrics`)).body.toString();
  const served = metrics.match(
    /^ecadraft_http_requests_total\{route="\/tickets",method="GET",status_code="200",version="v1"\} (\d+)$/m,
  );
  // Four collection URLs fetched three times each by GET (the last by the fast path), plus the first inject.
  t.equal(Number(served?.[1]), 13, 'fast-path answers are counted in the metrics too');
});
