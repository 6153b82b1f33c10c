// The steps a request takes around its route (src/request-steps.ts), through
// the real HTTP surface: which step answers when several could, what every
// early answer carries, and 405s that agree with the router on every path.
import fc from 'fast-check';
import t from 'tap';
import { Draining } from '../src/draining.ts';
import { NOT_FOUND_MESSAGE } from '../src/eve-errors.ts';
import { BODY_LIMIT, MAX_URL_LENGTH } from '../src/request-steps.ts';
import { appFor, appOfItsOwn, closeApps, type Served } from './helpers/app.ts';

const app = await appFor('v1');
const draining = new Draining();
const drainingApp = await appOfItsOwn('v2', {}, { draining });
draining.active = true;
t.teardown(closeApps);

const ID = (await app.request('/tickets')).json()._items[0]._id as string;
const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'];

/** Each method's status on a target, and the Allow header of its 405s. */
async function statuses(target: string, on: Served = app) {
  const answers = await Promise.all(METHODS.map((method) => on.request({ method, url: target })));
  return answers.map((answer, i) => ({ method: METHODS[i]!, status: answer.statusCode, allow: answer.headers.allow }));
}

/**
 * A target's answers agree with the router when the methods that get a 405
 * all name in Allow exactly the methods that do not. (A method that is routed
 * may still answer 404: an unknown ticket id, a missing Swagger UI file.)
 */
async function routerMismatches(target: string): Promise<string[]> {
  const answers = await statuses(target);
  const refused = answers.filter((a) => a.status === 405);
  const expected = answers
    .filter((a) => a.status !== 405)
    .map((a) => a.method)
    .sort((a, b) => rank(a) - rank(b))
    .join(', ');
  return refused
    .filter((a) => a.allow !== expected)
    .map((a) => `${a.method} ${target}: Allow ${a.allow}, expected ${expected}`);
}

const rank = (method: string) => ['GET', 'HEAD', 'OPTIONS'].indexOf(method) + 1 || 4;

t.test('405 and Allow agree with what the router serves, on every route and its spellings', async (t) => {
  // Every route, and the ways a client may spell it: some the router takes, some it does not.
  const routes = ['/', '/tickets', `/tickets/${ID}`, '/healthz', '/readyz', '/version', '/metrics', '/openapi.json'];
  const docs = ['/docs', '/docs/json', '/docs/static/index.html', '/docs/anything/below'];
  const spellings = (p: string) => [p, `${p}/`, `/${p}`, p.toUpperCase(), `${p}?x=%zz&where={}`, `${p}#f`, `${p}x`];
  const targets = [...routes, ...docs].flatMap(spellings).concat('/tick%65ts', `/tickets/${ID}x`, '/nope');
  for (const target of targets) t.same(await routerMismatches(target), [], target);
  for (const route of routes) {
    const answer = await app.request({ method: 'POST', url: route });
    t.equal(answer.statusCode, 405, `POST ${route}: 405`);
  }
  for (const unrouted of ['/nope', '/TICKETS', `/tickets/${ID}x`, '/docs/x']) {
    const answers = await statuses(unrouted);
    t.same(
      answers.filter((a) => a.status !== 404).map((a) => `${a.method} ${a.status}`),
      [],
      `${unrouted}: no route, 404 for every method`,
    );
  }

  const segment = fc.constantFrom('tickets', ID, 'docs', 'json', 'static', 'healthz', 'x', '', '%65', 'Tickets', '.');
  await fc.assert(
    fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), async (segments) => {
      const mismatches = await routerMismatches(`/${segments.join('/')}`);
      return mismatches.length === 0 || t.fail(mismatches.join('\n'));
    }),
    { numRuns: 150 },
  );
});

t.test("a routed request the route cannot serve gets Eve's 404 too", async (t) => {
  // Swagger UI's static route answers a missing file through Fastify's not-found handler.
  for (const method of ['GET', 'HEAD'] as const) {
    const answer = await app.request({ method, url: '/docs/static/no-such-file.js' });
    t.equal(answer.statusCode, 404, `${method}: 404`);
    t.equal(answer.headers['x-ecadraft-version'], 'v1', `${method}: names its version`);
    if (method === 'GET') t.same(answer.json()._error, { code: 404, message: NOT_FOUND_MESSAGE }, "Eve's 404");
  }
});

t.test('the step that answers first wins, and every early answer names its version', async (t) => {
  const longUnrouted = `/nope?${'a'.repeat(MAX_URL_LENGTH)}`;
  const cases: { name: string; method: string; url: string; headers?: Record<string, string>; status: number }[] = [
    { name: 'a long URL is refused before routing', method: 'POST', url: longUnrouted, status: 414 },
    {
      name: 'a wrong method is answered before its body is looked at',
      method: 'POST',
      url: '/tickets',
      headers: { 'content-length': String(BODY_LIMIT * 4) },
      status: 405,
    },
    {
      name: 'an unknown path too',
      method: 'GET',
      url: '/nope',
      headers: { 'content-length': String(BODY_LIMIT * 4) },
      status: 404,
    },
    {
      name: 'a routed request with a body over the limit',
      method: 'GET',
      url: '/tickets',
      headers: { 'content-length': String(BODY_LIMIT + 1) },
      status: 413,
    },
  ];
  for (const c of cases) {
    for (const [on, version] of [
      [app, 'v1'],
      [drainingApp, 'v2'],
    ] as const) {
      // A body is announced and never sent: the answer must come before it.
      const answer = await on.request({ method: c.method, url: c.url, headers: c.headers ?? {} });
      const label = `${c.name} (${version}${on === drainingApp ? ', draining' : ''})`;
      t.equal(answer.statusCode, c.status, label);
      t.equal(answer.headers['x-ecadraft-version'], version, `${label}: names its version`);
      t.equal(answer.json()._error.code, c.status, `${label}: Eve's error body`);
      const closes = on === drainingApp || c.headers?.['content-length'] !== undefined;
      t.equal(answer.headers.connection === 'close', closes, `${label}: closes the connection: ${closes}`);
    }
  }
});

t.test('a routed request without a body keeps its connection unless draining', async (t) => {
  const kept = await app.request('/tickets');
  t.equal(kept.statusCode, 200);
  t.not(kept.headers.connection, 'close');
  const closed = await drainingApp.request('/tickets');
  t.equal(closed.statusCode, 200);
  t.equal(closed.headers.connection, 'close');
});
