// GET and HEAD of the Eve routes are answered before Fastify, cache hits and
// misses alike; they must be byte for byte the answers Fastify gives.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { DEFAULT_SEED, loadConfig } from '../src/config.ts';
import { generateDataset } from '../src/dataset.ts';
import { Draining } from '../src/draining.ts';
import { createFastPath } from '../src/fastpath.ts';
import { FORMATTERS } from '../src/format.ts';
import { Metrics } from '../src/metrics.ts';
import { Store } from '../src/store.ts';
import { type RawResponse, rawRequest } from './helpers/http.ts';
import { poolsOf, queryArbitrary, queryString } from './helpers/queries.ts';

const listen = async (server: ReturnType<typeof createServer>) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

// Node writes these per connection, whoever answers.
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive']);
const comparable = (res: RawResponse) => ({
  status: res.status,
  headers: Object.entries(res.headers).filter(([name]) => !PER_CONNECTION.has(name)),
  body: res.body.toString(),
});

t.test('GET and HEAD of the Eve routes take the fast path; errors and everything else fall through', async (t) => {
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
    ['GET', '/tickets?max_results=3', 200],
    ['GET', '/tickets/?max_results=4', 200],
    ['HEAD', '/tickets', 200],
    ['GET', `/tickets/${id}`, 200],
    ['GET', `/tickets/${id}/`, 200],
    ['GET', '/tickets?where=%7Bbad', 599],
    ['GET', `/tickets/${id}?sort=-`, 599],
    ['GET', '/tickets/00000000-0000-4000-8000-000000000000', 599],
    ['POST', '/tickets', 599],
    ['OPTIONS', '/tickets', 599],
    ['GET', '/', 599],
    ['GET', '/tickets//', 599],
    ['GET', '/ticket%73', 599],
    ['GET', `/tickets/${id.toUpperCase()}`, 599],
    ['GET', `/tickets?${'x'.repeat(100)}`, 599],
  ];
  for (const [method, path, status] of expectations) {
    const res = await rawRequest(base + path, { method });
    t.equal(res.status, status, `${method} ${path}`);
    if (status === 200) t.equal(res.headers['x-ecadraft-version'], 'v2');
  }
  t.equal(fallbacks, 10);
  const body = await rawRequest(`${base}/tickets`, { method: 'GET', headers: { 'content-length': '2' } });
  t.equal(body.status, 599, 'a request with a body falls through');
  for (const path of ['/tickets?page=3', '/tickets?page=3']) {
    const etag = (await rawRequest(base + path)).headers.etag!;
    const notModified = await rawRequest(base + path, { headers: { 'if-none-match': etag } });
    t.equal(notModified.status, 304, `${path}: 304, computed or cached`);
    t.equal(notModified.body.length, 0);
    t.equal(notModified.headers.etag, etag);
  }
  draining.active = true;
  for (const path of ['/tickets', '/tickets?page=4'])
    t.equal((await rawRequest(base + path)).headers.connection, 'close', `${path}: draining closes each connection`);
});

t.test('answers are the same bytes as Fastify’s, whether computed or cached on the fast path', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const app = await buildApp(config);
  await app.ready();
  // Fastify alone, and a fast path over a store of the same tickets in front of it, counting what it leaves to Fastify.
  const fastifyOnly = createServer((req, res) => app.routing(req, res));
  const fast = createFastPath({
    store: new Store(generateDataset(config.ticketCount, config.seed, FORMATTERS.v1.format)),
    version: 'v1',
    draining: new Draining(),
    metrics: new Metrics('v1', 'title-case'),
    maxUrlLength: 16 * 1024,
  });
  let fellThrough = 0;
  const withFastPath = createServer((req, res) => {
    if (fast(req, res)) return;
    fellThrough++;
    app.routing(req, res);
  });
  const [reference, base] = [await listen(fastifyOnly), await listen(withFastPath)];
  t.teardown(async () => {
    fastifyOnly.close();
    withFastPath.close();
    await app.close();
  });
  const ids: string[] = (await app.inject('/tickets?max_results=50')).json()._items.map((i: { _id: string }) => i._id);
  const pools = poolsOf(generateDataset(100, DEFAULT_SEED, FORMATTERS.v1.format));
  const target = fc.record({
    path: fc.oneof(
      fc.constantFrom('/tickets', '/tickets/', '/tickets//', '/tickets/x'),
      fc.constantFrom(...ids).chain((id) => fc.constantFrom(`/tickets/${id}`, `/tickets/${id}/`)),
    ),
    query: fc.oneof(
      queryArbitrary(pools).map(queryString),
      fc.constantFrom('', 'pretty', 'projection={"status":1}', 'embedded=x', 'x=%C3%A9&page=0', 'max_results=1e400'),
    ),
    method: fc.constantFrom('GET', 'HEAD'),
    conditional: fc.option(
      fc.constantFrom<[string, string]>(
        ['if-none-match', '*'],
        ['if-none-match', '"x"'],
        ['if-modified-since', 'Mon, 01 Jan 2024 00:00:00 GMT'],
      ),
      { nil: undefined },
    ),
  });
  let requests = 0;
  await fc.assert(
    fc.asyncProperty(target, async ({ path, query, method, conditional }) => {
      const url = query ? `${path}?${query}` : path;
      const headers = conditional ? Object.fromEntries([conditional]) : {};
      const expected = comparable(await rawRequest(reference + url, { method, headers }));
      // The first asks the store to compute, the second and third may find it cached.
      for (let n = 0; n < 3; n++) {
        requests++;
        const answer = comparable(await rawRequest(base + url, { method, headers }));
        if (JSON.stringify(answer) !== JSON.stringify(expected)) return false;
      }
      return true;
    }),
    { numRuns: 250 },
  );
  // A fast path that left everything to Fastify would pass the comparison, and prove nothing.
  t.ok(requests - fellThrough > 400, `${requests - fellThrough} of ${requests} answered by the fast path`);
});

t.test('the fast path counts its answers in the metrics', async (t) => {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const count = async () =>
    Number(
      /^ecadraft_http_requests_total\{route="\/tickets",method="GET",status_code="200",version="v1"\} (\d+)$/m.exec(
        (await rawRequest(`${base}/metrics`)).body.toString(),
      )?.[1] ?? 0,
    );
  for (const url of ['/tickets', '/tickets?page=2', '/tickets', '/tickets?where=status==Open'])
    await rawRequest(base + url);
  t.equal(await count(), 4, 'computed and cached answers alike');
});
