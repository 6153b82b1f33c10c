// A named campaign of hostile requests on every route of a real listening
// server (node dist/server.js, over raw sockets, so the HTTP parser is in the
// loop) and, where light-my-request can carry the request, through inject on
// an in-process app too. The in-process tests fuzz /tickets
// (hostile-queries, hostile-requests) and check every malformed parameter one
// by one (malformed-parameters); this file adds what needs the real process
// and every route. Each case states its exact status; every answer must pass
// the shared checker (Eve's error shape, the version header, no leak); after
// each case the server must still answer a normal request promptly. Every
// answer is kept for the security checks at the end.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import t from 'tap';
import {
  type Answer,
  carriesLeakMarker,
  EVE_ALLOW,
  FILE_PATH,
  fromRaw,
  fromResponse,
  INTERNAL,
  OPS_ALLOW,
  problems,
  prototypeGuard,
  STACK_FRAME,
  URL_LIMIT,
} from '../helpers/answers.ts';
import { appFor, closeApps } from '../helpers/app.ts';
import { ROOT, rawExchange, request, startServer } from '../helpers/process.ts';

/** A normal request must not take longer than this after a hostile one (loopback; generous for a busy machine). */
const NORMAL_LATENCY_MS = 1000;

// Values that must never come back: a marker in the environment and settings that are ours but not public.
const MARKER = `xyz123${randomUUID().replaceAll('-', '')}`;
const PRIVATE_CONFIG = { SHUTDOWN_DELAY_MS: '43217', SHUTDOWN_TIMEOUT_MS: '98761' };

const server = await startServer(t, { SECRET_MARKER: MARKER, ...PRIVATE_CONFIG });
const app = await appFor('v1');
t.teardown(closeApps);

const pollution = prototypeGuard();

interface Page {
  _items: Record<string, unknown>[];
  _links: Record<string, { href: string }>;
  _meta: { total: number; page: number; max_results: number };
}
const getPage = async (path: string) => JSON.parse((await request(`${server.url}${path}`)).body) as Page;
const first = await getPage('/tickets');
const ID = first._items[0]!._id as string;
const TOTAL = first._meta.total;
const DATASET_ORDER = first._items.map((item) => item._id);
const OPEN_TOTAL = (await getPage(`/tickets?where=${encodeURIComponent('{"status":"Open"}')}`))._meta.total;

// Queries whose answer changes if Object.prototype gains a `polluted` key (what the payloads below try to add).
const POLLUTION_PROBES = [
  '{"polluted":1}',
  'polluted==1',
  '{"polluted":{"$exists":true}}',
  '{"status":{"polluted":1}}',
].map((where) => `/tickets?where=${encodeURIComponent(where)}`);
const probesBefore = await Promise.all(
  POLLUTION_PROBES.map(async (p) => (await getPage(`${p}&probe=before`))._meta.total),
);

// ---------------------------------------------------------------------------
// The routes and the cases

type Kind = 'collection' | 'item' | 'home' | 'ops';
interface Route {
  path: string;
  kind: Kind;
  allow: string;
}
const ROUTES: Route[] = [
  { path: '/', kind: 'home', allow: EVE_ALLOW },
  { path: '/tickets', kind: 'collection', allow: EVE_ALLOW },
  { path: `/tickets/${ID}`, kind: 'item', allow: EVE_ALLOW },
  ...['/healthz', '/readyz', '/version', '/metrics', '/openapi.json', '/docs'].map((path) => ({
    path,
    kind: 'ops' as const,
    allow: OPS_ALLOW,
  })),
];

/** The Eve resource routes read where, sort, projection and embedded (and refuse them malformed); the others ignore the query. */
const validates = (route: Route) => route.kind === 'collection' || route.kind === 'item';

interface Case {
  name: string;
  method?: string;
  /** The request target exactly as sent (latin1: a byte per character). */
  target: string;
  headers?: Record<string, string>;
  body?: string;
  chunked?: boolean;
  status: number;
  /** A fragment the error message must contain. */
  message?: string;
  allow?: string;
  /** The Content-Length to announce, when it is not the body's (a body cut short). */
  contentLength?: number;
  /** The whole request exactly as sent, when even the request line or the framing is the test. */
  raw?: string;
  /** Socket only: inject cannot carry it (raw bytes, oversized headers, chunked bodies, CONNECT, broken framing), or an in-process test already sends it that way. */
  wireOnly?: boolean;
  /** Further checks on the answer; returns what is wrong. */
  check?: (answer: Answer) => string | undefined;
}

const json = (answer: Answer) => JSON.parse(answer.body) as Page & Record<string, unknown>;
const total = (expected: number) => (answer: Answer) => {
  const actual = json(answer)._meta.total;
  return actual === expected ? undefined : `total ${actual}, expected ${expected}`;
};
const ALWAYS = ['_id', '_updated', '_created', '_etag', '_links'];
const itemKeys = (answer: Answer, kind: Kind) => Object.keys(kind === 'item' ? json(answer) : json(answer)._items[0]!);
const closes = (answer: Answer) =>
  answer.headers.connection === 'close' ? undefined : `connection: ${String(answer.headers.connection)}`;

/** Every href the answer carries is a valid URL reference: printable ASCII, each % followed by two hex digits. */
function hrefsValid(answer: Answer): string | undefined {
  const bad = Object.values(json(answer)._links)
    .map((link) => link.href)
    .filter((href) => !/^(?:[\x21-\x24\x26-\x7e]|%[0-9A-Fa-f]{2})*$/.test(href));
  return bad.length === 0 ? undefined : `invalid hrefs ${JSON.stringify(bad)}`;
}

function oversize(route: Route): Case[] {
  const p = route.path;
  const distinct = Array.from({ length: 4000 }, (_, i) => i.toString(36)).join('&');
  // The 200 cases must fit the limit and the 414 ones exceed it, or they would test something else.
  if (
    `${p}?${distinct}`.length > URL_LIMIT ||
    `${p}?${'a&'.repeat(8000)}`.length > URL_LIMIT ||
    'a&'.repeat(10_000).length <= URL_LIMIT
  ) {
    throw new Error(`the oversize cases of ${p} do not straddle the URL limit`);
  }
  return [
    // Under the parser's 32 KiB head limit, so the 414 is ours; longer heads are oversized-head.test.ts's.
    {
      name: 'a where of 30 KB',
      target: `${p}?where=${encodeURIComponent(JSON.stringify({ customer: 'a'.repeat(30 * 1024) }))}`,
      status: 414,
    },
    { name: '10,000 query parameters', target: `${p}?${'a&'.repeat(10_000)}`, status: 414 },
    {
      name: 'JSON nested 10,000 deep, well formed (20 KB)',
      target: `${p}?where=${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      status: 414,
    },
    {
      name: '4,000 distinct query parameters (as many as fit the URL limit)',
      target: `${p}?${distinct}`,
      status: 200,
      check:
        route.kind === 'collection'
          ? (a) =>
              json(a)._links.self!.href.split('&').length === 4000
                ? undefined
                : 'not every parameter echoed into the self link'
          : undefined,
    },
    { name: '8,000 repeats of one parameter', target: `${p}?${'a&'.repeat(8000)}`, status: 200 },
    { name: 'a 64 KB header', target: p, headers: { 'X-Big': 'b'.repeat(64 * 1024) }, status: 431, wireOnly: true },
  ];
}

function deep(route: Route): Case[] {
  const label: Record<string, string> = {
    where: '`where`',
    sort: '`sort`',
    projection: '`projection`',
    embedded: '`embedded`',
  };
  return [
    ...['where', 'sort', 'projection', 'embedded'].map((param) => ({
      name: `${param} nested 10,000 deep`,
      target: `${route.path}?${param}=${'['.repeat(10_000)}`,
      status: validates(route) ? 400 : 200,
      message: validates(route) ? label[param] : undefined,
      // malformed-parameters.test.ts already sends this one through inject.
      wireOnly: route.kind === 'collection' && param === 'where',
    })),
    // Quotes must be encoded in a URL, so objects 1,400 deep (left open) are as deep as the limit allows.
    ...['where', 'projection', 'embedded'].map((param) => ({
      name: `${param}: objects nested 1,400 deep`,
      target: `${route.path}?${param}=${'{%22a%22:'.repeat(1400)}1`,
      status: validates(route) ? 400 : 200,
      message: validates(route) ? label[param] : undefined,
    })),
  ];
}

function prototypeKeys(route: Route): Case[] {
  const p = route.path;
  const q = (param: string, value: string) => `${p}?${param}=${encodeURIComponent(value)}`;
  const collection = route.kind === 'collection';
  const ok = (check?: Case['check']): Pick<Case, 'status' | 'check'> => ({
    status: 200,
    check: collection ? check : undefined,
  });
  const bad = (message: string): Pick<Case, 'status' | 'message'> =>
    validates(route) ? { status: 400, message } : { status: 200 };
  const sameOrder = (a: Answer) => {
    const ids = json(a)._items.map((item) => item._id);
    return JSON.stringify(ids) === JSON.stringify(DATASET_ORDER) ? undefined : 'not in dataset order';
  };
  const projected = (expected: string[]) => (a: Answer) => {
    const keys = itemKeys(a, route.kind);
    return JSON.stringify(keys) === JSON.stringify(expected) ? undefined : `keys ${keys.join(',')}`;
  };
  const projection = (check?: Case['check']) => ({ status: 200, check: validates(route) ? check : undefined });
  return [
    { name: 'where: __proto__ as a field', target: q('where', '{"__proto__":{"status":"Open"}}'), ...ok(total(0)) },
    {
      name: 'where: constructor.prototype',
      target: q('where', '{"constructor":{"prototype":{"polluted":1}}}'),
      ...ok(total(0)),
    },
    {
      name: 'where: prototype keys inside $or',
      target: q('where', '{"$or":[{"prototype":"x"},{"status":{"__proto__":"Open"}}]}'),
      ...ok(total(0)),
    },
    // A field no ticket has matches nothing; a parser that turned the key into a prototype would drop the condition and match every Open ticket.
    {
      name: 'where: __proto__ beside a real filter',
      target: q('where', '{"status":"Open","__proto__":{"status":"Closed"}}'),
      ...ok(total(0)),
    },
    {
      name: 'where: the real filter alone, for comparison',
      target: q('where', '{"status":"Open"}'),
      ...ok(total(OPEN_TOTAL)),
    },
    {
      name: 'where: Python style on prototype names',
      target: q('where', '__proto__=="x" or constructor=="y" or prototype==1'),
      ...ok(total(0)),
    },
    // Only where a filter runs: the item endpoint checks where's syntax and operators, not its operands.
    ...(route.kind === 'item'
      ? []
      : [
          {
            name: 'where: __proto__ operand of $in',
            target: q('where', '{"status":{"$in":{"__proto__":["Open"]}}}'),
            ...bad('`where`'),
          },
        ]),
    { name: 'projection: __proto__ 1', target: q('projection', '{"__proto__":1}'), ...projection(projected(ALWAYS)) },
    {
      name: 'projection: prototype keys 0',
      target: q('projection', '{"constructor":0,"prototype":0,"__proto__":0}'),
      ...projection(projected(['customer', 'status', 'product', ...ALWAYS])),
    },
    {
      name: 'projection: __proto__ object',
      target: q('projection', '{"__proto__":{"polluted":1}}'),
      ...bad('`projection`'),
    },
    { name: 'sort: prototype names', target: q('sort', '__proto__,-constructor,prototype'), ...ok(sameOrder) },
    {
      name: 'sort: prototype names, list syntax',
      target: q('sort', '[("__proto__", 1), (\'constructor\', -1)]'),
      ...ok(sameOrder),
    },
    { name: 'embedded: __proto__', target: q('embedded', '{"__proto__":{"polluted":1}}'), status: 200 },
    {
      name: 'query string: prototype names as parameters',
      target: `${p}?__proto__=1&constructor[prototype][polluted]=1&prototype=x&toString=1&hasOwnProperty=1`,
      ...ok((a) => {
        const href = json(a)._links.self!.href;
        return href === 'tickets?__proto__=1&constructor[prototype][polluted]=1&prototype=x&toString=1&hasOwnProperty=1'
          ? undefined
          : `self href ${href}`;
      }),
    },
    {
      name: 'query string: __proto__ paths',
      target: `${p}?__proto__[polluted]=1&__proto__.polluted=1&where[__proto__][polluted]=1`,
      status: 200,
    },
  ];
}

// Each numeric spot of the API with 1e400 (Infinity once parsed), -0 and NaN (not JSON).
const NUMBERS = ['1e400', '-0', 'NaN'] as const;
type Numeric = (typeof NUMBERS)[number];
interface Spot {
  name: string;
  query: (n: Numeric) => string;
  /** The collection's answer: a status, and for a 200 what it must hold. */
  expect: Record<Numeric, { status: number; total?: number; maxResults?: number; page?: number; without?: string }>;
  /** Only the collection reads it (paging). */
  collectionOnly?: boolean;
}
const SPOTS: Spot[] = [
  {
    name: 'max_results',
    query: (n) => `max_results=${n}`,
    collectionOnly: true,
    expect: {
      '1e400': { status: 200, maxResults: 50 },
      '-0': { status: 200, maxResults: 25 },
      NaN: { status: 200, maxResults: 25 },
    },
  },
  {
    name: 'page',
    query: (n) => `page=${n}`,
    collectionOnly: true,
    expect: { '1e400': { status: 200, page: 1 }, '-0': { status: 200, page: 1 }, NaN: { status: 200, page: 1 } },
  },
  {
    name: 'where value (JSON)',
    query: (n) => `where=${encodeURIComponent(`{"status":${n}}`)}`,
    expect: { '1e400': { status: 200, total: 0 }, '-0': { status: 200, total: 0 }, NaN: { status: 400 } },
  },
  {
    name: 'where value (Python)',
    query: (n) => `where=${encodeURIComponent(`status==${n}`)}`,
    // A bare name on the right of a comparison is a string: NaN is "NaN".
    expect: { '1e400': { status: 200, total: 0 }, '-0': { status: 200, total: 0 }, NaN: { status: 200, total: 0 } },
  },
  {
    name: 'where $gt on a date',
    query: (n) => `where=${encodeURIComponent(`{"_created":{"$gt":${n}}}`)}`,
    expect: { '1e400': { status: 200, total: 0 }, '-0': { status: 200, total: 0 }, NaN: { status: 400 } },
  },
  {
    name: 'where $in element',
    query: (n) => `where=${encodeURIComponent(`{"status":{"$in":[${n}]}}`)}`,
    expect: { '1e400': { status: 200, total: 0 }, '-0': { status: 200, total: 0 }, NaN: { status: 400 } },
  },
  {
    name: 'where $exists operand',
    query: (n) => `where=${encodeURIComponent(`{"status":{"$exists":${n}}}`)}`,
    // Mongo reads the operand as a boolean: Infinity is true, -0 false.
    expect: { '1e400': { status: 200, total: TOTAL }, '-0': { status: 200, total: 0 }, NaN: { status: 400 } },
  },
  {
    name: 'sort direction',
    query: (n) => `sort=${encodeURIComponent(`[("status", ${n})]`)}`,
    expect: { '1e400': { status: 400 }, '-0': { status: 400 }, NaN: { status: 400 } },
  },
  {
    name: 'sort field',
    query: (n) => `sort=${n}`,
    // Unknown fields sort as missing values; "-0" is field "0", descending.
    expect: { '1e400': { status: 200 }, '-0': { status: 200 }, NaN: { status: 200 } },
  },
  {
    name: 'projection value',
    query: (n) => `projection=${encodeURIComponent(`{"customer":${n}}`)}`,
    expect: { '1e400': { status: 400 }, '-0': { status: 200, without: 'customer' }, NaN: { status: 400 } },
  },
  {
    name: 'embedded value',
    query: (n) => `embedded=${encodeURIComponent(`{"customer":${n}}`)}`,
    expect: { '1e400': { status: 200 }, '-0': { status: 200 }, NaN: { status: 400 } },
  },
];

function numbers(route: Route): Case[] {
  const cases: Case[] = SPOTS.flatMap((spot) =>
    NUMBERS.map((n): Case => {
      const expected = spot.expect[n];
      const applies = route.kind === 'collection' || (route.kind === 'item' && !spot.collectionOnly);
      const status = applies ? expected.status : 200;
      return {
        name: `${spot.name} ${n}`,
        target: `${route.path}?${spot.query(n)}`,
        status,
        message: status === 400 ? spot.name.split(' ')[0] : undefined,
        check:
          applies && status === 200
            ? (a) => {
                const wrong: string[] = [];
                if (route.kind === 'collection') {
                  const { _meta } = json(a);
                  if (expected.total !== undefined && _meta.total !== expected.total)
                    wrong.push(`total ${_meta.total}`);
                  if (expected.maxResults !== undefined && _meta.max_results !== expected.maxResults)
                    wrong.push(`max_results ${_meta.max_results}`);
                  if (expected.page !== undefined && _meta.page !== expected.page) wrong.push(`page ${_meta.page}`);
                }
                if (expected.without !== undefined && itemKeys(a, route.kind).includes(expected.without))
                  wrong.push(`${expected.without} not removed`);
                return wrong.length === 0 ? undefined : wrong.join('; ');
              }
            : undefined,
      };
    }),
  );
  if (route.kind === 'collection') {
    cases.push(...NUMBERS.map((n) => ({ name: `a ticket id of ${n}`, target: `/tickets/${n}`, status: 404 })));
  }
  return cases;
}

function encoding(route: Route): Case[] {
  const p = route.path;
  const v = validates(route);
  return [
    {
      name: 'where with an invalid escape',
      target: `${p}?where=%zz`,
      status: v ? 400 : 200,
      message: v ? '`where`' : undefined,
    },
    {
      // The escapes as sent, as a path with them is answered: never the U+FFFD they would decode to.
      name: 'where of invalid UTF-8',
      target: `${p}?where=%C3%28`,
      status: v ? 400 : 200,
      message: v ? "Unable to parse `where` clause: '%C3%28' is not a valid url component" : undefined,
    },
    {
      name: 'where of a byte UTF-8 never has',
      target: `${p}?where=%FF`,
      status: v ? 400 : 200,
      message: v ? "Unable to parse `where` clause: '%FF' is not a valid url component" : undefined,
    },
    {
      name: 'embedded with an invalid escape',
      target: `${p}?embedded=%zz`,
      status: v ? 400 : 200,
      message: v ? '`embedded`' : undefined,
    },
    {
      name: 'projection naming an invalid UTF-8 field',
      target: `${p}?projection=%7B%22%FF%22%3A1%7D`,
      status: 200,
      check: v
        ? (a) =>
            JSON.stringify(itemKeys(a, route.kind)) === JSON.stringify(ALWAYS)
              ? undefined
              : 'not projected to the fixed fields'
        : undefined,
    },
    { name: 'sort on an invalid UTF-8 field', target: `${p}?sort=%FF%FE`, status: 200 },
    {
      name: 'other parameters with broken escapes and a lone surrogate',
      target: `${p}?x=%&y=%zz&z=%C3%28%ED%A0%80&max_results=2`,
      status: 200,
      check: route.kind === 'collection' ? hrefsValid : undefined,
    },
    { name: 'a path with an invalid escape', target: `${p}%zz`, status: 400 },
    { name: 'a path of invalid UTF-8', target: `${p}%C3%28`, status: 400 },
    { name: 'a path with an overlong encoding of /', target: `${p}%C0%AF`, status: 400 },
    { name: 'raw invalid UTF-8 bytes in the query', target: `${p}?where=\xff\xfe`, status: 400, wireOnly: true },
    { name: 'raw invalid UTF-8 bytes in the path', target: `${p}\xc3\x28`, status: 400, wireOnly: true },
    {
      name: 'invalid UTF-8 in a header value',
      target: p,
      headers: { 'X-Junk': '\xff\xfe\xc3\x28', 'If-None-Match': '"\xff"' },
      status: 200,
      wireOnly: true,
    },
  ];
}

// hostile-requests.test.ts checks bodies on /tickets through inject; here every route, over the socket.
function bodies(route: Route): Case[] {
  return [
    {
      name: 'a small body on GET',
      target: route.path,
      body: '{"status":"Open"}',
      headers: { 'Content-Type': 'application/json' },
      status: 200,
      check: closes,
      wireOnly: true,
    },
    {
      name: 'a small chunked body on GET',
      target: route.path,
      body: 'x'.repeat(100),
      chunked: true,
      status: 200,
      check: closes,
      wireOnly: true,
    },
    {
      name: 'a 20 KiB body on GET',
      target: route.path,
      body: 'x'.repeat(20 * 1024),
      status: 413,
      check: closes,
      wireOnly: true,
    },
    {
      name: 'a chunked 20 KiB body on GET',
      target: route.path,
      body: 'x'.repeat(20 * 1024),
      chunked: true,
      status: 413,
      wireOnly: true,
    },
    // Answered without waiting for the rest: a server that read on would leave the exchange to time out.
    {
      name: 'a body announced at 10 MB, 20 KiB sent',
      target: route.path,
      body: 'x'.repeat(20 * 1024),
      contentLength: 10 * 1024 * 1024,
      status: 413,
      check: closes,
      wireOnly: true,
    },
  ];
}

// What Node's HTTP parser refuses before any route runs, answered in Eve's shape all the same.
function framing(route: Route): Case[] {
  const p = route.path;
  return [
    {
      name: '5,000 small headers',
      target: p,
      raw: `GET ${p} HTTP/1.1\r\nHost: x\r\n${'X-A: bbbbbbbb\r\n'.repeat(5000)}\r\n`,
      status: 431,
      wireOnly: true,
    },
    {
      name: 'a request target 20 characters under the limit',
      target: `${p}?x=${'a'.repeat(URL_LIMIT - 20 - p.length - 3)}`,
      status: 200,
      // inject never reaches the parser's limit, so only the socket shows the boundary.
      wireOnly: true,
    },
    {
      name: 'a malformed request line',
      target: p,
      raw: `GET ${p} HTTP/9.9\r\nHost: x\r\n\r\n`,
      status: 400,
      wireOnly: true,
    },
    {
      name: 'a header without a colon',
      target: p,
      raw: `GET ${p} HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n`,
      status: 400,
      wireOnly: true,
    },
    {
      name: 'both Content-Length and Transfer-Encoding',
      target: p,
      raw: `GET ${p} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      wireOnly: true,
    },
  ];
}

const OTHER_METHODS = http.METHODS.filter((m) => !['GET', 'HEAD', 'OPTIONS', 'CONNECT'].includes(m));

// hostile-requests.test.ts sends six of these to the Eve routes through inject; here all of them to every route, over the socket.
function methods(route: Route): Case[] {
  return OTHER_METHODS.map((method) => ({
    name: method,
    method,
    target: route.path,
    // A body where one is usual, so the 405 is not an artefact of its absence.
    ...(['POST', 'PUT', 'PATCH'].includes(method)
      ? { body: '{"status":"Open"}', headers: { 'Content-Type': 'application/json' } }
      : {}),
    status: 405,
    allow: route.allow,
    wireOnly: true,
  }));
}

// ---------------------------------------------------------------------------
// Running a case

interface Collected {
  label: string;
  via: 'socket' | 'inject';
  method: string;
  request: string;
  answer: Answer;
}
const collected: Collected[] = [];
const followUps: number[] = [];

function wireRequest(c: Case): Buffer {
  if (c.raw !== undefined) return Buffer.from(c.raw, 'latin1');
  const lines = [`${c.method ?? 'GET'} ${c.target} HTTP/1.1`, 'Host: x', 'Connection: close'];
  for (const [name, value] of Object.entries(c.headers ?? {})) lines.push(`${name}: ${value}`);
  let body = '';
  if (c.body !== undefined && c.chunked) {
    lines.push('Transfer-Encoding: chunked');
    body = `${c.body.length.toString(16)}\r\n${c.body}\r\n0\r\n\r\n`;
  } else if (c.body !== undefined) {
    lines.push(`Content-Length: ${c.contentLength ?? c.body.length}`);
    body = c.body;
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

/** Everything wrong with one answer to one case. */
function judge(c: Case, answer: Answer): string[] {
  const wrong: string[] = [];
  if (answer.status !== c.status)
    wrong.push(`status ${answer.status}, expected ${c.status}: ${answer.body.slice(0, 160)}`);
  wrong.push(...problems(answer, 'v1', c.method ?? 'GET'));
  if (answer.status >= 400 && c.message !== undefined && wrong.length === 0) {
    const message = (JSON.parse(answer.body) as { _error: { message: string } })._error.message;
    if (!message.includes(c.message)) wrong.push(`message ${JSON.stringify(message)} does not name ${c.message}`);
  }
  if (c.allow !== undefined && answer.headers.allow !== c.allow)
    wrong.push(`Allow ${String(answer.headers.allow)}, expected ${c.allow}`);
  if (wrong.length === 0 && c.check) {
    const extra = c.check(answer);
    if (extra) wrong.push(extra);
  }
  return wrong;
}

/** Runs the cases on the socket, then a normal request, then through inject; returns every failure as a sentence. */
async function run(route: Route, cases: Case[]): Promise<string[]> {
  const failures: string[] = [];
  for (const c of cases) {
    const label = `${c.method ?? 'GET'} ${route.path} ${c.name}`;
    const method = c.method ?? 'GET';
    const shown = c.target.length > 100 ? `${c.target.slice(0, 100)}... (${c.target.length} characters)` : c.target;
    try {
      const answer = fromRaw(await rawExchange(server.port, wireRequest(c), 5000));
      collected.push({ label, via: 'socket', method, request: c.target, answer });
      failures.push(...judge(c, answer).map((w) => `${label} [${shown}]: ${w}`));
    } catch (error) {
      failures.push(`${label} [${shown}]: no answer on the socket (${(error as Error).message.slice(0, 200)})`);
    }
    const started = performance.now();
    const normal = await request(`${server.url}/tickets?max_results=1`).catch((error: Error) => ({
      status: 0,
      body: error.message,
    }));
    const ms = performance.now() - started;
    followUps.push(ms);
    if (normal.status !== 200)
      failures.push(`${label}: the next normal request got ${normal.status} ${normal.body.slice(0, 100)}`);
    else if (ms > NORMAL_LATENCY_MS) failures.push(`${label}: the next normal request took ${Math.round(ms)} ms`);
    // The in-process app's /readyz says nothing about the process's.
    if (c.wireOnly || route.path === '/readyz') continue;
    const injected = fromResponse(
      await app.app.inject({
        method: method as 'GET',
        url: c.target,
        headers: c.headers,
        ...(c.body === undefined ? {} : { payload: c.body }),
      }),
    );
    collected.push({ label, via: 'inject', method, request: c.target, answer: injected });
    failures.push(...judge(c, injected).map((w) => `${label} (inject): ${w}`));
  }
  return failures;
}

const GROUPS: [string, (route: Route) => Case[]][] = [
  ['oversized requests', oversize],
  ['deep nesting', deep],
  ['__proto__, constructor and prototype keys', prototypeKeys],
  ['1e400, -0 and NaN in every numeric spot', numbers],
  ['invalid percent-encoding and invalid UTF-8', encoding],
  ['a request body on GET', bodies],
  ['what the HTTP parser refuses: too many headers, bad request lines, ambiguous framing', framing],
  ['every method other than GET, HEAD and OPTIONS: 405 with Allow', methods],
];

for (const [group, make] of GROUPS) {
  t.test(group, async (t) => {
    for (const route of ROUTES) {
      const cases = make(route);
      t.same(
        await run(route, cases),
        [],
        `${route.path}: ${cases.length} cases as expected, and a normal request served after each`,
      );
    }
  });
}

t.test('CONNECT on every route: 405 with Allow, like every other method', async (t) => {
  // Node hands CONNECT to a 'connect' listener and, having none, closes the socket without a word.
  for (const route of ROUTES) {
    const failures = await run(route, [
      { name: 'CONNECT', method: 'CONNECT', target: route.path, status: 405, allow: route.allow, wireOnly: true },
    ]);
    t.same(failures, [], `CONNECT ${route.path}`);
  }
});

t.test('no prototype changed', async (t) => {
  t.same(pollution(), [], 'in this process (the inject half of the campaign): the built-in prototypes are unchanged');
  const after = await Promise.all(POLLUTION_PROBES.map(async (p) => (await getPage(`${p}&probe=after`))._meta.total));
  t.same(
    after,
    probesBefore,
    'in the server process: filters on `polluted` match what they matched before the campaign',
  );
  t.same(
    after,
    POLLUTION_PROBES.map(() => 0),
    'which is nothing',
  );
});

// ---------------------------------------------------------------------------
// Security, over every answer the campaign produced

t.test('no error answer carries a stack trace, a file path or an internal message', async (t) => {
  const errors = collected.filter((c) => c.answer.status >= 400 && !carriesLeakMarker(c.request));
  t.ok(errors.length > 400, `${errors.length} error answers collected`);
  const statuses = [...new Set(errors.map((c) => c.answer.status))].sort();
  t.comment(`statuses among them: ${statuses.join(', ')}`);
  const leaks = errors.flatMap(({ label, via, answer }) => {
    // The message may quote the request's own URL; what it quotes is the client's text, not ours.
    const text = answer.body.replace(
      /'\/[^']*' is not a valid url component/,
      "'<the URL>' is not a valid url component",
    );
    return [
      ...(STACK_FRAME.test(text) ? ['a stack frame'] : []),
      ...(FILE_PATH.test(text) ? [`a file path (${FILE_PATH.exec(text)?.[0]})`] : []),
      ...(text.includes(ROOT) ? ['the checkout path'] : []),
      ...(INTERNAL.test(text) ? [`an internal message (${INTERNAL.exec(text)?.[0]})`] : []),
    ].map((what) => `${label} (${via}): ${what}: ${answer.body.slice(0, 200)}`);
  });
  t.same(leaks, []);
});

t.test('no x-powered-by or server banner on any answer', async (t) => {
  const banners = collected
    .filter((c) => c.via === 'socket')
    .flatMap(({ label, answer }) =>
      Object.keys(answer.headers)
        .filter((name) => /^(?:x-powered-by|server|via|x-aspnet-version|x-runtime)$|fastify|node/i.test(name))
        .map((name) => `${label}: ${name}: ${String(answer.headers[name])}`),
    );
  t.same(banners, [], `over ${collected.filter((c) => c.via === 'socket').length} answers from the socket`);
  for (const route of ROUTES) {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const answer = await request(`${server.url}${route.path}`, { method });
      t.same(
        Object.keys(answer.headers).filter((name) => /^(?:x-powered-by|server)$/i.test(name)),
        [],
        `${method} ${route.path} (${answer.status})`,
      );
    }
  }
});

t.test('/version, /docs and /openapi.json expose nothing from the environment', async (t) => {
  const docs = (await request(`${server.url}/docs`)).body;
  const assets = [...docs.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]!);
  t.ok(assets.length >= 3, `the Swagger UI page links its assets (${assets.join(', ')})`);
  const pages = [
    '/version',
    '/openapi.json',
    '/docs',
    '/docs/json',
    '/docs/yaml',
    '/docs/static/swagger-initializer.js',
    ...assets,
  ];
  for (const path of [...new Set(pages)]) {
    const answer = await request(`${server.url}${path}`, { timeoutMs: 10_000 });
    t.equal(answer.status, 200, `${path} is served`);
    t.notOk(answer.body.includes(MARKER), `${path}: not the marker variable's value`);
    t.notOk(answer.body.includes('SECRET_MARKER'), `${path}: not its name`);
    // The bundled Swagger UI scripts are third-party text where any digits may occur; our own pages must not carry our settings.
    if (!/\.(?:js|css|png)$/.test(path) || path.endsWith('swagger-initializer.js')) {
      for (const [name, value] of Object.entries(PRIVATE_CONFIG)) {
        t.notOk(answer.body.includes(value) || answer.body.includes(name), `${path}: not ${name}`);
      }
      t.notOk(answer.body.includes(ROOT), `${path}: not the checkout path`);
    }
  }
  const version = JSON.parse((await request(`${server.url}/version`)).body) as Record<string, unknown>;
  t.same(
    Object.keys(version).sort(),
    ['formatter', 'release', 'seed', 'service', 'tickets', 'version'],
    '/version carries only service, version, formatter, release, tickets and seed',
  );
  t.same(
    collected.filter((c) => c.answer.body.includes(MARKER)).map((c) => c.label),
    [],
    'no campaign answer carries the marker',
  );
  t.comment(
    `normal requests after each case: ${followUps.length}, median ${median(followUps).toFixed(1)} ms, max ${Math.max(...followUps).toFixed(1)} ms`,
  );
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? NaN;
}
