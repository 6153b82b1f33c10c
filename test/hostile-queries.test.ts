// Random query strings, mostly malformed, on /tickets and on one ticket, over
// HTTP (URL-encoded as a client would) and as raw bytes on a socket:
// never a 5xx, every error in Eve's shape, every answer names its version,
// nothing internal leaks, and a repeat answers as the first request did.
import fc from 'fast-check';
import t from 'tap';
import { carriesLeakMarker, fromRaw, fromResponse, prototypeGuard } from './helpers/answers.ts';
import { appFor, closeApps, type Json } from './helpers/app.ts';
import { expectSound, queryString, type Version } from './helpers/hostile-input.ts';
import { rawExchange } from './helpers/process.ts';

const pollution = prototypeGuard();
t.teardown(closeApps);
const apps = { v1: await appFor('v1'), v2: await appFor('v2') };
const IDS: string[] = ((await apps.v1.request('/tickets?max_results=3')).json() as Json)._items.map(
  (item: Json) => item._id,
);
const wirePort = apps.v1.port;

t.test('random query strings on /tickets: never a 5xx, errors in Eve shape, no leaks', async (t) => {
  let errors = 0;
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<Version>('v1', 'v2'),
      fc.constantFrom('GET', 'GET', 'GET', 'HEAD'),
      queryString,
      async (version, method, query) => {
        const url = `/tickets?${query}`;
        fc.pre(!carriesLeakMarker(url));
        const response = await apps[version].request({ method, url });
        if (response.statusCode >= 400) errors++;
        seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
        expectSound(fromResponse(response), version, method, { version, method, url });
      },
    ),
    { numRuns: 1600 },
  );
  // A generator that never reaches the error paths would make this property vacuous.
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.ok(errors > 200, `${errors} of the random queries were refused: the generators reach the error paths`);
  t.ok((seen.get(200) ?? 0) > 200, `${seen.get(200) ?? 0} answered 200: and the success path`);
});

t.test('random query strings on one ticket: never a 5xx, errors in Eve shape, no leaks', async (t) => {
  let ok = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<Version>('v1', 'v2'),
      fc.constantFrom(...IDS),
      queryString,
      async (version, id, query) => {
        const url = `/tickets/${id}?${query}`;
        fc.pre(!carriesLeakMarker(url));
        const response = await apps[version].request({ url });
        if (response.statusCode === 200) ok++;
        expectSound(fromResponse(response), version, 'GET', { version, url });
      },
    ),
    { numRuns: 400 },
  );
  t.ok(ok > 20, `${ok} answered 200: the generators also reach the success path`);
});

t.test(
  'random queries on the wire, each sent twice: the repeat (served from cache) answers as the first did',
  async (t) => {
    // Raw bytes: what a client sends unencoded reaches the parser as it is.
    const COMPARED = ['x-ecadraft-version', 'content-type', 'content-length', 'etag', 'last-modified', 'x-total-count'];
    let repeated200 = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'GET', 'HEAD'),
        fc.oneof(
          fc.constantFrom('/tickets', '/tickets/'),
          fc.constantFrom(...IDS).map((id) => `/tickets/${id}`),
        ),
        queryString,
        fc.option(fc.constantFrom('*', '"x"', 'W/"x"'), { nil: undefined }),
        async (method, p, query, ifNoneMatch) => {
          const target = `${p}?${query}`;
          fc.pre(!carriesLeakMarker(target));
          const head = Buffer.from(
            `${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
              `${ifNoneMatch === undefined ? '' : `If-None-Match: ${ifNoneMatch}\r\n`}\r\n`,
            'utf8',
          );
          const first = await rawExchange(wirePort, head, 5000, method === 'HEAD');
          const second = await rawExchange(wirePort, head, 5000, method === 'HEAD');
          expectSound(fromRaw(first), 'v1', method, { method, target, ifNoneMatch });
          expectSound(fromRaw(second), 'v1', method, { method, target, ifNoneMatch, repeat: true });
          const differences = [
            ...(first.status === second.status ? [] : [`status ${first.status} then ${second.status}`]),
            ...(first.body === second.body ? [] : ['body']),
            // A 304's Content-Length has its own test below (HEAD and GET answer alike).
            ...COMPARED.filter(
              (h) => !(h === 'content-length' && first.status === 304) && first.headers[h] !== second.headers[h],
            ).map((h) => `${h}: ${String(first.headers[h])} then ${String(second.headers[h])}`),
          ];
          if (differences.length > 0)
            throw new Error(`repeat differs: ${differences.join('; ')}\nrequest: ${method} ${target}`);
          if (second.status === 200) repeated200++;
        },
      ),
      { numRuns: 400 },
    );
    t.ok(repeated200 > 50, `${repeated200} repeats answered 200, so the cached path was exercised`);
  },
);

t.test('nothing polluted a built-in prototype', async (t) => {
  // Runs last: every request above had its chance to pollute.
  t.same(pollution(), []);
});
