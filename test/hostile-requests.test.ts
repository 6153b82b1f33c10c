// Random paths, methods, headers and bodies over HTTP, and odd request
// targets over a socket: never a 5xx, every error in Eve's shape, every answer
// names its version, nothing internal leaks. Then the named rules for methods
// and bodies: HEAD answers as GET, every other method is a 405 with Allow, a
// body on a read-only route is ignored or refused. (The same rules on every
// route of the real process, over its socket: test/process/hostile-routes.test.ts.)
import fc from 'fast-check';
import t from 'tap';
import { carriesLeakMarker, EVE_ALLOW, fromRaw, fromResponse, problems, prototypeGuard } from './helpers/answers.ts';
import { appFor, closeApps, type Json } from './helpers/app.ts';
import {
  body,
  expectSound,
  headers,
  METHODS,
  pathArbitrary,
  queryString,
  SEGMENTS,
  sendable,
  type Version,
} from './helpers/hostile-input.ts';
import { openRaw } from './helpers/process.ts';

const pollution = prototypeGuard();
t.teardown(closeApps);
const apps = { v1: await appFor('v1'), v2: await appFor('v2') };
const IDS: string[] = ((await apps.v1.request('/tickets?max_results=3')).json() as Json)._items.map(
  (item: Json) => item._id,
);
const ID = IDS[0]!;
const path = pathArbitrary(ID);
const wirePort = apps.v1.port;

t.test('random paths, methods, headers and bodies: never a 5xx, errors in Eve shape, no leaks', async (t) => {
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<Version>('v1', 'v2'),
      METHODS,
      path,
      fc.option(queryString, { nil: undefined }),
      headers,
      body,
      async (version, method, p, query, hdrs, payload) => {
        const url = query === undefined ? p : `${p}?${query}`;
        fc.pre(
          sendable(url, hdrs) &&
            // A client opens a tunnel with CONNECT, not a request; test/process/hostile-routes.test.ts sends it raw.
            method !== 'CONNECT' &&
            !carriesLeakMarker(url) &&
            !carriesLeakMarker(JSON.stringify(hdrs)) &&
            !carriesLeakMarker(payload ?? ''),
        );
        const response = await apps[version].request({ method, url, headers: hdrs, body: payload });
        statuses.add(response.statusCode);
        expectSound(fromResponse(response), version, method, { version, method, url, headers: hdrs, payload });
        // The three Eve routes name exactly their methods.
        if (response.statusCode === 405 && /^\/(?:tickets\/?)?$/.test(url.split('?')[0]!)) {
          if (response.headers.allow !== EVE_ALLOW)
            throw new Error(`Allow ${String(response.headers.allow)} on ${method} ${url}`);
        }
      },
    ),
    {
      numRuns: 1500,
      // Found by a run: a client's URL parser resolves `%2e%2e` before decoding, so this is /readyz.
      examples: [['v1', 'GET', '/%5C/%2e%2e/readyz/', undefined, {}, undefined]],
    },
  );
  t.comment(`statuses: ${[...statuses].sort().join(', ')}`);
  for (const status of [200, 400, 404, 405, 414]) t.ok(statuses.has(status), `reached ${status}`);
});

t.test('raw requests on a listening server: dot segments, raw bytes, odd targets', async (t) => {
  const rawSegment = fc.oneof(
    fc.constantFrom(...SEGMENTS, '..', '...', '%2e%2e%2f', '..%2f', '..\\', '\u00ff', '\u0080'),
    fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.string({ maxLength: 6 }),
  );
  const target = fc.oneof(
    fc.array(rawSegment, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`),
    fc.constantFrom(
      '*',
      'tickets',
      'http://evil.example/tickets',
      '//evil.example/tickets',
      '/tickets?where={"a":1}',
      '/tickets?x=\u00e9',
      '/tickets#x',
      `/tickets/${ID}/..`,
      '/tickets/./',
    ),
  );
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'DELETE', 'FOO', 'get'), target, async (method, tgt) => {
      fc.pre(!carriesLeakMarker(tgt));
      const head = Buffer.from(`${method} ${tgt} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1');
      const connection = openRaw(t, wirePort);
      await connection.connected;
      connection.write(head);
      const response = await connection.readResponse(5000, method === 'HEAD');
      connection.destroy();
      statuses.add(response.status);
      expectSound(fromRaw(response), 'v1', method, { method, target: tgt });
    }),
    { numRuns: 300 },
  );
  t.ok(
    statuses.has(400) && statuses.has(404),
    `reached the parser's 400 and the router's 404 (${[...statuses].join(', ')})`,
  );
});

t.test('HEAD answers as GET, 304s included', async (t) => {
  // Same status and headers, Content-Length of the GET body. RFC 9110 8.6: a
  // 304 carries no Content-Length, or the one the 200 would carry.
  const urls = ['/tickets?max_results=5&head-test', `/tickets/${IDS[1]}?head-test`];
  for (const url of urls) {
    const full = await apps.v1.request({ method: 'GET', url });
    t.equal(full.statusCode, 200, url);
    const length = String(Buffer.byteLength(full.body));
    const conditionals: Record<string, string>[] = [
      {},
      { 'if-none-match': '*' },
      { 'if-none-match': full.headers.etag as string },
    ];
    for (const conditional of conditionals) {
      const label = `${url} ${JSON.stringify(conditional)}`;
      const [get, head] = [
        await apps.v1.request({ method: 'GET', url, headers: conditional }),
        await apps.v1.request({ method: 'HEAD', url, headers: conditional }),
      ];
      t.equal(head.statusCode, get.statusCode, `${label}: same status`);
      const strip = (h: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date' && k !== 'content-length'));
      t.same(strip(head.headers), strip(get.headers), `${label}: same headers`);
      if (get.statusCode === 200) t.equal(head.headers['content-length'], length, `${label}: the GET body's length`);
      else
        t.ok(
          [undefined, length].includes(head.headers['content-length'] as string | undefined),
          `${label}: ${get.statusCode} with Content-Length ${String(head.headers['content-length'])} (GET sends ${String(get.headers['content-length'])})`,
        );
    }
  }
});

t.test('405 on every Eve route names the allowed methods', async (t) => {
  for (const url of ['/', '/tickets', '/tickets/', `/tickets/${ID}`, `/tickets/${ID}/`]) {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'TRACE'] as const) {
      const response = await apps.v2.request({ method, url, body: method === 'TRACE' ? undefined : '{}' });
      t.equal(response.statusCode, 405, `${method} ${url}`);
      t.equal(response.headers.allow, EVE_ALLOW, `${method} ${url}: Allow`);
      t.same(problems(fromResponse(response), 'v2', method), [], `${method} ${url}: sound answer`);
    }
  }
});

t.test('request bodies on read-only routes', async (t) => {
  const big = 'x'.repeat(20 * 1024);
  await t.test('a small body on GET is ignored', async (t) => {
    const response = await apps.v1.request({
      method: 'GET',
      url: '/tickets',
      body: '{"status": "Open"}',
      headers: { 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 200);
    t.equal((JSON.parse(response.body) as { _meta: { total: number } })._meta.total, 100, 'and does not filter');
  });
  for (const [method, type] of [
    ['GET', 'application/json'],
    ['OPTIONS', 'text/plain'],
  ] as const) {
    await t.test(`a 20 KiB body on ${method} /tickets is 413`, async (t) => {
      const response = await apps.v1.request({ method, url: '/tickets', body: big, headers: { 'content-type': type } });
      t.equal(response.statusCode, 413);
      t.same(problems(fromResponse(response), 'v1', method), []);
    });
  }
});

t.test('nothing polluted a built-in prototype', async (t) => {
  // Runs last: every request above had its chance to pollute.
  t.same(pollution(), []);
});
