// The steps a request takes before its route (src/request-steps.ts), through
// the real HTTP surface: which step answers when several could, what every
// early answer carries, and 405s that agree with the router on every path.
import fc from 'fast-check';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { Draining } from '../src/draining.ts';
import { BODY_LIMIT, MAX_URL_LENGTH } from '../src/request-steps.ts';

const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
const draining = new Draining();
const drainingApp = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: 'v2' }), { draining });
draining.active = true;
t.teardown(() => Promise.all([app.close(), drainingApp.close()]));

const ID = (await app.inject('/tickets')).json()._items[0]._id as string;
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'];

/** Each method's status on a target, and the Allow header of its 405s. */
async function statuses(target: string, on: FastifyInstance = app) {
  const answers = await Promise.all(METHODS.map((method) => on.inject({ method, url: target })));
  return answers.map((answer, i) => ({ method: METHODS[i]!, status: answer.statusCode, allow: answer.headers.allow }));
}

/**
 * A target's answers are consistent with the router when the methods it
 * serves (neither 404 nor 405) are exactly what every other method's 405
 * lists in Allow, and a target nothing serves is a 404 for every method.
 */
async function routerMismatches(target: string): Promise<string[]> {
  const answers = await statuses(target);
  const served = answers.filter((a) => a.status !== 404 && a.status !== 405).map((a) => a.method);
  const others = answers.filter((a) => !served.includes(a.method));
  if (served.length === 0) {
    return others.filter((a) => a.status !== 404).map((a) => `${a.method} ${target}: ${a.status}, expected 404`);
  }
  const expected = [...served].sort((a, b) => rank(a) - rank(b)).join(', ');
  return others
    .filter((a) => a.status !== 405 || a.allow !== expected)
    .map((a) => `${a.method} ${target}: ${a.status} Allow ${a.allow}, expected 405 Allow ${expected}`);
}

const rank = (method: string) => ['GET', 'HEAD', 'OPTIONS'].indexOf(method) + 1 || 4;

t.test('405 and Allow agree with what the router serves, on every route and its spellings', async (t) => {
  const targets = [
    '/',
    '/tickets',
    '/tickets/',
    `/tickets/${ID}`,
    `/tickets/${ID}/`,
    `/tickets/${ID.toUpperCase()}`,
    `/tickets/${ID}x`,
    '/tick%65ts',
    '/tickets?where={"status":"Open"}&x=%zz',
    '/tickets#fragment',
    '/TICKETS',
    '//tickets',
    '/tickets//',
    '/healthz',
    '/readyz/',
    '/version',
    '/metrics',
    '/openapi.json',
    '/docs',
    '/docs/',
    '/docs/json',
    '/docs/static/index.html',
    '/docs/anything/below',
    '/nope',
  ];
  for (const target of targets) t.same(await routerMismatches(target), [], target);

  const segment = fc.constantFrom('tickets', ID, 'docs', 'json', 'static', 'healthz', 'x', '', '%65', 'Tickets', '.');
  await fc.assert(
    fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), async (segments) => {
      const mismatches = await routerMismatches(`/${segments.join('/')}`);
      return mismatches.length === 0 || t.fail(mismatches.join('\n'));
    }),
    { numRuns: 150 },
  );
});

t.test('the step that answers first wins, and every early answer names its version', async (t) => {
  const longUnrouted = `/nope?${'a'.repeat(MAX_URL_LENGTH)}`;
  const cases: { name: string; method: HTTPMethods; url: string; headers?: Record<string, string>; status: number }[] =
    [
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
      const answer = await on.inject({
        method: c.method,
        url: c.url,
        headers: c.headers ?? {},
        ...(c.headers?.['content-length'] && { payload: Buffer.alloc(0) }),
      });
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
  const kept = await app.inject('/tickets');
  t.equal(kept.statusCode, 200);
  t.not(kept.headers.connection, 'close');
  const closed = await drainingApp.inject('/tickets');
  t.equal(closed.statusCode, 200);
  t.equal(closed.headers.connection, 'close');
});
