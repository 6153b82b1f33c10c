// Hostile input: whatever a client sends, the answer is never a 5xx, every
// error is Eve's error body, every answer names its version, and nothing
// internal (stack frames, file paths, error class names) leaks. Random input
// comes from fast-check; the malformed parameters api.md names are checked one
// by one with their exact status and message.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import {
  type Answer,
  carriesLeakMarker,
  fromInject,
  fromRaw,
  lenientDecode,
  METHOD_NOT_ALLOWED,
  NOT_FOUND,
  problems,
} from './helpers/answers.ts';
import { openRaw, rawExchange } from './helpers/process.ts';

const EVE_ALLOW = 'GET, HEAD, OPTIONS';
const URL_LIMIT = 16 * 1024;

type Version = 'v1' | 'v2';

// A new seed each run covers more ground over time; FC_SEED=<the seed of a failure> replays that run.
if (process.env.FC_SEED) fc.configureGlobal({ seed: Number(process.env.FC_SEED) });

const apps = {} as Record<Version, FastifyInstance>;
for (const version of ['v1', 'v2'] as const) {
  apps[version] = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version }));
}
t.teardown(() => Promise.all(Object.values(apps).map((app) => app.close())));

// The real HTTP parser, for what inject cannot send: oversized request lines and
// headers, raw bytes and dot segments a URL parser would normalize away.
const wire = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
await wire.listen({ port: 0, host: '127.0.0.1' });
const wirePort = (wire.server.address() as AddressInfo).port;
t.teardown(() => wire.close());

const firstPage = JSON.parse((await apps.v1.inject('/tickets?max_results=3')).body) as { _items: { _id: string }[] };
const IDS = firstPage._items.map((item) => item._id);
const ID = IDS[0]!;

const prototypeSnapshot = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  function: Object.getOwnPropertyNames(Function.prototype).sort(),
};

// ---------------------------------------------------------------------------
// What every answer must satisfy: problems() in helpers/answers.ts, shared with campaign.test.ts.

/**
 * Whether light-my-request can carry this URL: it parses it with WHATWG URL
 * first, which refuses some targets ("/\\" is a host-less authority). Those go
 * over the wire in the raw-request property instead.
 */
function injectable(url: string): boolean {
  try {
    new URL(url.startsWith('//') ? `http://localhost${url}` : url, 'http://localhost');
    return true;
  } catch {
    return false;
  }
}

/**
 * service.md's one exception to "every 5xx is Eve's error body": readiness answers
 * 503 `{"status": ...}`, and an app that is not listening is not ready.
 */
function isReadiness(answer: Answer, url: string): boolean {
  let path: string;
  try {
    // Resolved as the server's router sees it: dot segments removed, query dropped.
    path = new URL(`http://x${lenientDecode(url).replace(/^(?!\/)/, '/')}`).pathname;
  } catch {
    return false;
  }
  return (
    answer.status === 503 &&
    /^\/readyz\/?$/.test(path) &&
    (answer.body === '' || /^\{"status":"(?:starting|draining)"\}$/.test(answer.body))
  );
}

/** Throws, with the request and what was wrong, so fast-check reports and shrinks it. */
function expectSound(
  answer: Answer,
  version: Version,
  method: string,
  request: Record<string, unknown> & { url?: string; target?: string },
): void {
  const url = request.url ?? request.target ?? '';
  const found = isReadiness(answer, url) ? [] : problems(answer, version, method);
  if (found.length > 0) {
    throw new Error(
      `${found.join('; ')}\nrequest: ${JSON.stringify(request)}\nanswer ${answer.status}: ${answer.body.slice(0, 300)}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Generators

/** Percent-encodes the UTF-8 bytes of anything outside RFC 3986's unreserved set (lone surrogates become U+FFFD). */
function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const BAD_ESCAPES = [
  '%',
  '%%',
  '%2',
  '%zz',
  '%C3%28',
  '%C3',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%E0%80%80',
  '%C0%AF',
  '%FF',
  '%00',
  '%FE%FF',
  '%u0041',
  '%2525',
];
const badEscape = fc.constantFrom(...BAD_ESCAPES);

const FIELDS = [
  'status',
  'customer',
  'product',
  '_id',
  '_created',
  '_updated',
  '_etag',
  '_links',
  'missing',
  'a.b',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  '$',
  '$where',
];
const OPERATORS = [
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$and',
  '$or',
  '$nor',
  '$not',
  '$where',
  '$regex',
  '$foo',
  '$elemMatch',
  '$expr',
  '$text',
  '$',
  '$$',
  '$__proto__',
  '$constructor',
];
const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1e400',
  '-1e400',
  '1e-400',
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  'inf',
  '0x10',
  '1_000',
  '9'.repeat(400),
  '+1',
  '.5',
  '5.',
  '1e',
  '00001',
  '2',
  '-2',
  '50',
  '51',
  '9007199254740993',
];
const DATES = [
  'Mon, 02 Mar 2020 17:45:09 GMT',
  'Thu, 28 Dec 2023 20:19:45 GMT',
  'Thu, 99 Dec 2023 20:19:45 GMT',
  'Sat, 13 Sep 275760 00:00:00 GMT',
  '2020-03-02T17:45:09Z',
  '0',
  '-1e400',
  'yesterday',
  '',
];

const field = fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 12 }));
const scalar = fc.oneof(
  fc.constantFrom(...NUMBERS.map(Number)),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('Open', 'Pending', 'In Progress', 'Resolved', 'Closed', 'Hessel Inc', 'HESSEL INC', ...DATES),
  fc.string({ maxLength: 16, unit: 'binary' }),
);

/** Mongo-ish filters: real operators, banned ones, unknown ones, prototype keys, wrong operand types. */
const mongo = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(field, fc.constantFrom(...OPERATORS)), tie('node'), { maxKeys: 4 }),
  ),
})).node;

/** Eve's Python-style expressions and near misses: unknown operators, keywords, bad literals, unbalanced parentheses. */
const python = fc
  .array(
    fc.oneof(
      fc.constantFrom(...FIELDS.filter((f) => /^[A-Za-z_]/.test(f))),
      fc.constantFrom(
        '==',
        '!=',
        '>',
        '>=',
        '<',
        '<=',
        '=',
        '===',
        '<>',
        '~=',
        'and',
        'or',
        'not',
        'in',
        'is',
        'is not',
        'lambda',
        'None',
        'True',
        '(',
        ')',
        '[',
        ']',
        ',',
        '.',
        '__import__("os")',
        'a if b else c',
        '**',
        '//',
        '\\',
      ),
      fc.constantFrom(...NUMBERS, ...DATES.map((d) => JSON.stringify(d))),
      fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
      fc.string({ maxLength: 10 }).map((s) => `'${s}'`),
      fc.constantFrom(
        '"\\x41"',
        '"\\u00e9"',
        '"\\U0001F600"',
        '"\\U99999999"',
        '"\\',
        "'\\'",
        '"\\N{DASH}"',
        'b"x"',
        'f"{x}"',
      ),
    ),
    { maxLength: 12 },
  )
  .chain((tokens) => fc.constantFrom(' ', '', '  ', '\t', '\n').map((sep) => tokens.join(sep)));

/** Well-formed nesting around the 32-level limit and far beyond it. */
const nested = fc
  .tuple(
    fc.integer({ min: 1, max: 120 }),
    fc.constantFrom<[string, string, string]>(
      ['{"a":', '1', '}'],
      ['{"$and":[', '{"a":1}', ']}'],
      ['[', '1', ']'],
      ['(', 'status=="Open"', ')'],
      ['{"status":{"$not":', '{"$eq":"Open"}', '}}'],
      ['{"$or":[{"a":', '1', '}]}'],
    ),
  )
  .map(([depth, [open, inner, close]]) => open.repeat(depth) + inner + close.repeat(depth));

const whereText = fc.oneof(
  mongo.map((v) => JSON.stringify(v)),
  fc.json({ depthSize: 'small' }),
  fc.json().chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
  python,
  nested,
  fc.constantFrom(
    ...NUMBERS,
    '',
    '{}',
    '[]',
    'null',
    'true',
    '"x"',
    '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '{"status":{"__proto__":{"$eq":"Open"}}}',
    '{"$where":"sleep(1000)"}',
    '{"status":{"$regex":".*"}}',
    '{"$foo":1}',
    '{"status":{"$in":{"length":1e9}}}',
    `{"status":{"$in":[${'1,'.repeat(800)}1]}}`,
  ),
  fc.string({ maxLength: 40, unit: 'binary' }),
);

const sortText = fc.oneof(
  fc
    .array(fc.tuple(fc.boolean(), field), { maxLength: 4 })
    .map((parts) => parts.map(([desc, f]) => (desc ? '-' : '') + f).join(',')),
  fc
    .array(
      fc.tuple(
        field,
        fc.oneof(fc.constantFrom('1', '-1', '0', '2', '-0', '1e400', '1.0', 'True'), fc.string({ maxLength: 4 })),
        fc.constantFrom('"', "'"),
      ),
      { maxLength: 3 },
    )
    .map((pairs) => `[${pairs.map(([f, d, q]) => `(${q}${f}${q}, ${d})`).join(', ')}]`),
  fc.constantFrom(
    'status,',
    ',status',
    'status,,customer',
    '-',
    '--status',
    '[',
    ']',
    '[(]',
    '[("status", 1)',
    '[("status",1),]',
    '[("status")]',
    '{"status":1}',
    '()',
    '[()]',
    'status -1',
    '[("__proto__", 1)]',
    'constructor,-__proto__',
  ),
  fc.string({ maxLength: 20 }),
);

const objectParam = fc.oneof(
  fc
    .dictionary(field, fc.oneof(fc.constantFrom(0, 1, -1, 2, true, false, null, '1'), scalar), { maxKeys: 4 })
    .map((v) => JSON.stringify(v)),
  fc.json({ depthSize: 'small' }),
  fc.constantFrom('{"__proto__":1}', '{"constructor":0}', '{"_id":0}', '[1]', '5', '"x"', '{', '', 'null'),
  fc.string({ maxLength: 20 }),
);

const numberish = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 8 }),
);

const KEYS = [
  'where',
  'sort',
  'page',
  'max_results',
  'projection',
  'embedded',
  'pretty',
  '__proto__',
  'constructor',
  'prototype',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  'where[$ne]',
  'toString',
  'hasOwnProperty',
  '',
  'x',
];

const paramValue = (key: string) => {
  switch (key) {
    case 'where':
      return whereText;
    case 'sort':
      return sortText;
    case 'projection':
    case 'embedded':
      return objectParam;
    case 'page':
    case 'max_results':
      return numberish;
    default:
      return fc.oneof(fc.string({ maxLength: 20, unit: 'binary' }), whereText);
  }
};

/** One `key=value`, percent-encoded properly, sent raw, or with a broken escape spliced in. */
const param = fc
  .oneof(
    // Mostly the parameters that can fail, so most queries exercise a parser.
    { weight: 6, arbitrary: fc.constantFrom('where', 'where', 'where', 'sort', 'sort', 'projection', 'embedded') },
    { weight: 3, arbitrary: fc.constantFrom(...KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  )
  .chain((key) =>
    fc.tuple(
      fc.constant(key),
      paramValue(key),
      fc.constantFrom('encoded', 'encoded', 'raw', 'junk', 'bare'),
      badEscape,
      fc.nat(),
    ),
  )
  .map(([key, value, mode, junk, at]) => {
    const v = String(value);
    switch (mode) {
      case 'raw':
        return `${key}=${v}`;
      case 'junk': {
        const encoded = pct(v);
        const i = encoded.length === 0 ? 0 : at % encoded.length;
        return `${pct(key)}=${encoded.slice(0, i)}${junk}${encoded.slice(i)}`;
      }
      case 'bare':
        return pct(key);
      default:
        return `${pct(key)}=${pct(v)}`;
    }
  });

const queryString = fc
  .array(param, { maxLength: 6 })
  .chain((params) => fc.constantFrom('&', '&', '&&', ';').map((sep) => params.join(sep)));

const HEADER_CHARS = fc.string({
  maxLength: 60,
  unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
});
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=',
  'text/plain',
  '',
  ';;;',
  'multipart/form-data; boundary=',
  'application/x-www-form-urlencoded',
  '*/*',
  'application/xml',
  'a/b; c="d',
];

const headers = fc.record(
  {
    'if-none-match': fc.oneof(
      fc.constantFrom('*', '*', '"x"', 'W/"x"', ',,,', 'W/', '"', '""', '*, "x"', 'W/*'),
      HEADER_CHARS,
    ),
    'if-modified-since': fc.oneof(fc.constantFrom(...DATES), HEADER_CHARS),
    'content-type': fc.oneof(fc.constantFrom(...CONTENT_TYPES), HEADER_CHARS),
    accept: fc.oneof(fc.constantFrom('application/xml', 'text/html', '*/*', 'application/json;q=0', ''), HEADER_CHARS),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0', '*'),
    'x-forwarded-for': HEADER_CHARS,
  },
  { requiredKeys: [] },
);

const body = fc.option(
  fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.constantFrom('{"__proto__":{"polluted":1}}', '{bad')),
  { nil: undefined },
);

const METHODS = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom(...http.METHODS) },
);

const uuidLike = fc.uuid().map((u) => u.toLowerCase());
const SEGMENTS = [
  'tickets',
  'TICKETS',
  'tickets ',
  '..',
  '.',
  '%2e%2e',
  '%2E',
  '%2f',
  '%2F',
  '%5c',
  '\\',
  '',
  'docs',
  'static',
  'healthz',
  'readyz',
  'version',
  'openapi.json',
  'metrics',
  'etc',
  'passwd',
  'ticket\u00e9s',
  '\u{1F600}',
  '\u202E',
  '%00',
  '%C3%28',
  '%zz',
  '%',
  ';x',
  'tickets;',
  '*',
  '~',
  'a'.repeat(101),
];

const path = fc.oneof(
  fc.constantFrom(
    '/',
    '/tickets',
    '/tickets/',
    `/tickets/${ID}`,
    `/tickets/${ID}/`,
    `/tickets/${ID.toUpperCase()}`,
    `/tickets/${ID}x`,
    '/healthz',
    '/readyz',
    '/version',
    '/openapi.json',
    '/docs',
    '/docs/',
    '/docs/json',
    '/docs/static/index.html',
    '/nope',
    '//tickets',
    '/tickets//',
    '/TICKETS',
    '/tickets/../tickets',
    '/tickets/%2e%2e/',
    '/%2e%2e/%2e%2e/etc/passwd',
  ),
  uuidLike.map((u) => `/tickets/${u}`),
  fc
    .array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 8 }).map(pct), badEscape), {
      minLength: 1,
      maxLength: 6,
    })
    .map((segments) => `/${segments.join('/')}`),
  fc.integer({ min: 200, max: 20_000 }).map((n) => `/tickets/${'a'.repeat(n)}`),
);

t.test('the answer checker refuses what it must, so the properties below can fail', async (t) => {
  const error = (code: number, message: string) => JSON.stringify({ _status: 'ERR', _error: { code, message } });
  const good: Answer = {
    status: 400,
    headers: { 'x-ecadraft-version': 'v1', 'content-type': 'application/json' },
    body: error(400, 'bad'),
  };
  t.same(problems(good, 'v1', 'GET'), [], 'a proper error passes');
  t.same(problems({ ...good, status: 404, body: error(404, NOT_FOUND) }, 'v1', 'GET'), [], 'a proper 404 passes');
  const bad: Record<string, [Answer, string?]> = {
    'a 500 even in Eve shape': [{ ...good, status: 500, body: error(500, 'x') }],
    'a 503': [{ ...good, status: 503, body: error(503, 'x') }],
    'the other version': [{ ...good, headers: { ...good.headers, 'x-ecadraft-version': 'v2' } }],
    'no version header': [{ ...good, headers: { 'content-type': 'application/json' } }],
    'code other than the status': [{ ...good, body: error(422, 'x') }],
    'code as a string': [{ ...good, body: '{"_status":"ERR","_error":{"code":"400","message":"x"}}' }],
    'an extra key': [{ ...good, body: '{"_status":"ERR","_error":{"code":400,"message":"x"},"detail":1}' }],
    'an empty message': [{ ...good, body: error(400, ' ') }],
    "Fastify's own error shape": [{ ...good, body: '{"statusCode":400,"error":"Bad Request","message":"x"}' }],
    'a body that is not JSON': [{ ...good, body: 'Bad Request' }],
    'an HTML error page': [{ ...good, headers: { ...good.headers, 'content-type': 'text/html' } }],
    'a 404 in other words': [{ ...good, status: 404, body: error(404, 'Not Found') }],
    'a 405 in other words': [
      { ...good, status: 405, headers: { ...good.headers, allow: 'GET' }, body: error(405, 'Method Not Allowed') },
    ],
    'a 405 without Allow': [{ ...good, status: 405, body: error(405, METHOD_NOT_ALLOWED) }],
    'a stack trace': [{ ...good, body: error(400, 'x\n    at parse (file:///app/dist/where.js:10:5)') }],
    'a file path': [{ ...good, body: error(400, "ENOENT: open '/work/main/x'") }],
    node_modules: [{ ...good, body: error(400, 'in node_modules') }],
    'an error class name': [{ ...good, body: error(400, 'SyntaxError: Unexpected token') }],
    'a HEAD answer with a body': [{ ...good }, 'HEAD'],
    'a 200 labelled JSON that is not': [{ ...good, status: 200, body: '{"_items": [' }],
  };
  for (const [name, [answer, method = 'GET']] of Object.entries(bad)) {
    t.not(problems(answer, 'v1', method).length, 0, name);
  }
});

// ---------------------------------------------------------------------------
// Properties

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
        const response = await apps[version].inject({ method: method as 'GET', url });
        if (response.statusCode >= 400) errors++;
        seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
        expectSound(fromInject(response), version, method, { version, method, url });
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
        const response = await apps[version].inject({ url });
        if (response.statusCode === 200) ok++;
        expectSound(fromInject(response), version, 'GET', { version, url });
      },
    ),
    { numRuns: 400 },
  );
  t.ok(ok > 20, `${ok} answered 200: the generators also reach the success path`);
});

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
          injectable(url) &&
            !carriesLeakMarker(url) &&
            !carriesLeakMarker(JSON.stringify(hdrs)) &&
            !carriesLeakMarker(payload ?? ''),
        );
        const response = await apps[version].inject({
          method: method as 'GET',
          url,
          headers: hdrs,
          ...(payload === undefined ? {} : { payload }),
        });
        statuses.add(response.statusCode);
        expectSound(fromInject(response), version, method, { version, method, url, headers: hdrs, payload });
        // api.md: the three Eve routes name exactly their methods.
        if (response.statusCode === 405 && /^\/(?:tickets\/?)?$/.test(url.split('?')[0]!)) {
          if (response.headers.allow !== EVE_ALLOW)
            throw new Error(`Allow ${String(response.headers.allow)} on ${method} ${url}`);
        }
      },
    ),
    { numRuns: 1500 },
  );
  t.comment(`statuses: ${[...statuses].sort().join(', ')}`);
  for (const status of [200, 400, 404, 405, 414]) t.ok(statuses.has(status), `reached ${status}`);
});

t.test(
  'random queries on the wire, each sent twice: the repeat (served from cache) answers as the first did',
  async (t) => {
    // A listening app answers repeated reads on a fast path that bypasses Fastify;
    // inject never reaches it, so the same hostile queries go over a socket.
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

// ---------------------------------------------------------------------------
// Every malformed parameter api.md names

interface Case {
  url: string;
  status: number;
  /** A fragment of the message, or the exact message when `exact`. */
  message?: string;
  exact?: boolean;
}

const q = (name: string, value: string) => `/tickets?${name}=${pct(value)}`;
const WHERE = 'Unable to parse `where` clause';

const CASES: Record<string, Case> = {
  'where a number': { url: q('where', '5'), status: 400, message: WHERE },
  'where an array': { url: q('where', '[1]'), status: 400, message: WHERE },
  'where a JSON string': { url: q('where', '"x"'), status: 400, message: WHERE },
  'where null': { url: q('where', 'null'), status: 400, message: WHERE },
  'where broken JSON': { url: q('where', '{"status": '), status: 400, message: WHERE },
  'where Python: missing value': { url: q('where', 'status=='), status: 400, message: WHERE },
  'where Python: dangling and': { url: q('where', 'status=="Open" and'), status: 400, message: WHERE },
  'where Python: unbalanced parenthesis': { url: q('where', '(status=="Open"'), status: 400, message: WHERE },
  'where Python: single =': { url: q('where', 'status="Open"'), status: 400, message: WHERE },
  'where Python: ===': { url: q('where', 'status==="Open"'), status: 400, message: WHERE },
  'where Python: unterminated string': { url: q('where', 'status=="Open'), status: 400, message: WHERE },
  'where Python: chained comparison': { url: q('where', '"A"<customer<"M"'), status: 400, message: WHERE },
  'where Python: not': { url: q('where', 'not status=="Open"'), status: 400, message: WHERE },
  'where Python: in (list)': { url: q('where', 'status in ["Open", "Pending"]'), status: 400, message: WHERE },
  'where Python: in (string)': { url: q('where', 'status in "Open"'), status: 400, message: WHERE },
  'where Python: is': { url: q('where', 'status is None'), status: 400, message: WHERE },
  'where Python: is not': { url: q('where', 'status is not None'), status: 400, message: WHERE },
  'where Python: a call': { url: q('where', '__import__("os").system("true")'), status: 400, message: WHERE },
  'where $where': {
    url: q('where', '{"$where": "this.status == \'Open\'"}'),
    status: 400,
    message: 'Query contains operators banned: $where',
    exact: true,
  },
  'where $regex': {
    url: q('where', '{"status": {"$regex": "^O"}}'),
    status: 400,
    message: 'Query contains operators banned: $regex',
    exact: true,
  },
  'where $foo': {
    url: q('where', '{"$foo": 1}'),
    status: 400,
    message: 'Query contains unknown or unsupported operators: $foo',
    exact: true,
  },
  'where $foo on a field': {
    url: q('where', '{"status": {"$foo": 1}}'),
    status: 400,
    message: 'Query contains unknown or unsupported operators: $foo',
    exact: true,
  },
  'where $foo inside $or': {
    url: q('where', '{"$or": [{"status": {"$foo": 1}}]}'),
    status: 400,
    message: 'Query contains unknown or unsupported operators: $foo',
    exact: true,
  },
  'where longer than 4096 characters': {
    url: q('where', `{"status": "${'a'.repeat(4100)}"}`),
    status: 400,
    message: WHERE,
  },
  'where nested 33 levels (JSON)': {
    url: q('where', `${'{"a":'.repeat(33)}1${'}'.repeat(33)}`),
    status: 400,
    message: WHERE,
  },
  'where nested 33 levels ($and)': {
    url: q('where', `${'{"$and":['.repeat(33)}{"a":1}${']}'.repeat(33)}`),
    status: 400,
    message: WHERE,
  },
  'where nested 33 levels (Python)': {
    url: q('where', `${'('.repeat(33)}status=="Open"${')'.repeat(33)}`),
    status: 400,
    message: WHERE,
  },
  'where nested 32 levels is fine': { url: q('where', `${'{"a":'.repeat(32)}1${'}'.repeat(32)}`), status: 200 },
  'sort bad syntax': { url: q('sort', '[("status", 1)'), status: 400, message: 'sort' },
  'sort bad syntax (no tuple)': { url: q('sort', '[status]'), status: 400, message: 'sort' },
  'sort bad syntax (unquoted)': { url: q('sort', '[(status, 1)]'), status: 400, message: 'sort' },
  'sort empty part (trailing)': { url: q('sort', 'status,'), status: 400, message: 'sort' },
  'sort empty part (leading)': { url: q('sort', ',status'), status: 400, message: 'sort' },
  'sort empty part (middle)': { url: q('sort', 'status,,customer'), status: 400, message: 'sort' },
  'sort a lone minus': { url: q('sort', '-'), status: 400, message: 'sort' },
  'sort direction 2': { url: q('sort', '[("status", 2)]'), status: 400, message: 'sort' },
  'sort direction 0': { url: q('sort', '[("status", 0)]'), status: 400, message: 'sort' },
  'sort direction -2': { url: q('sort', "[('status', -2)]"), status: 400, message: 'sort' },
  'sort direction not a number': { url: q('sort', '[("status", "asc")]'), status: 400, message: 'sort' },
  'projection an array': { url: q('projection', '[1]'), status: 400, message: 'projection' },
  'projection a number': { url: q('projection', '5'), status: 400, message: 'projection' },
  'projection a string': { url: q('projection', '"customer"'), status: 400, message: 'projection' },
  'projection broken JSON': { url: q('projection', '{"customer": 1'), status: 400, message: 'projection' },
  'projection on an item': { url: `/tickets/${ID}?projection=${pct('[1]')}`, status: 400, message: 'projection' },
  'embedded a number': { url: q('embedded', '1'), status: 400, message: 'embedded' },
  'embedded an array': { url: q('embedded', '[]'), status: 400, message: 'embedded' },
  'embedded broken JSON': { url: q('embedded', '{'), status: 400, message: 'embedded' },
  'embedded an object has no effect': { url: q('embedded', '{"customer": 1}'), status: 200 },
  'unknown path': { url: '/nope', status: 404, message: NOT_FOUND, exact: true },
  'unknown path below tickets': { url: '/tickets/x/y', status: 404, message: NOT_FOUND, exact: true },
  'paths are case-sensitive': { url: '/TICKETS', status: 404, message: NOT_FOUND, exact: true },
  'an id that is not a UUID': { url: '/tickets/123', status: 404, message: NOT_FOUND, exact: true },
  'an upper-case UUID': { url: `/tickets/${ID.toUpperCase()}`, status: 404, message: NOT_FOUND, exact: true },
  'a UUID with a suffix': { url: `/tickets/${ID}x`, status: 404, message: NOT_FOUND, exact: true },
  'a UUID no ticket has': {
    url: '/tickets/00000000-0000-4000-8000-000000000000',
    status: 404,
    message: NOT_FOUND,
    exact: true,
  },
  // api.md: "`_id` is a lowercase UUID; anything else is 404", however long.
  'an id of 101 characters': { url: `/tickets/${'a'.repeat(101)}`, status: 404, message: NOT_FOUND, exact: true },
  'an id of 2000 characters': { url: `/tickets/${'0'.repeat(2000)}`, status: 404, message: NOT_FOUND, exact: true },
  'a URL over 16 KiB': { url: `/tickets?x=${'a'.repeat(URL_LIMIT)}`, status: 414 },
  'a URL over 16 KiB on an unknown path': { url: `/${'a'.repeat(URL_LIMIT + 10)}`, status: 414 },
};

for (const version of ['v1', 'v2'] as const) {
  t.test(`malformed parameters, one by one (${version})`, async (t) => {
    for (const [name, c] of Object.entries(CASES)) {
      const response = await apps[version].inject(c.url);
      const label = `${name}: ${c.url.length > 80 ? `${c.url.slice(0, 80)}...` : c.url}`;
      t.equal(response.statusCode, c.status, label);
      t.same(problems(fromInject(response), version, 'GET'), [], `${name}: sound answer`);
      if (c.message !== undefined) {
        const message = (JSON.parse(response.body) as { _error?: { message?: string } })._error?.message;
        if (c.exact) t.equal(message, c.message, `${name}: message`);
        else t.match(message, c.message, `${name}: message names the problem`);
      }
      if (c.status === 200) {
        t.same(
          Object.keys(JSON.parse(response.body) as object),
          ['_items', '_links', '_meta'],
          `${name}: a collection`,
        );
      }
    }
  });
}

t.test('HEAD answers malformed parameters with the same status, and no body', async (t) => {
  for (const [name, c] of Object.entries(CASES)) {
    const response = await apps.v1.inject({ method: 'HEAD', url: c.url });
    t.equal(response.statusCode, c.status, name);
    t.equal(response.body, '', `${name}: no body`);
  }
});

t.test('deep nesting is refused without walking it', async (t) => {
  // Sent unencoded: brackets and parentheses are legal in a query, and encoding
  // them would push 10,000 levels past the URL limit (a 414, not this test).
  const inputs = {
    '10,000-deep arrays': '['.repeat(10_000),
    '10,000-deep parentheses': `${'('.repeat(10_000)}a==1`,
    '2,000-deep arrays (within the length limit)': `${'['.repeat(2000)}${']'.repeat(2000)}`,
    '2,000-deep parentheses (within the length limit)': `${'('.repeat(2000)}a==1${')'.repeat(2000)}`,
    '1,000-deep objects (within the length limit)': `${'{"a":'.repeat(800)}1${'}'.repeat(800)}`.slice(0, 4096),
  };
  // Once to warm the route: only the refusal is timed.
  await apps.v1.inject(`/tickets?where=${pct('{')}`);
  for (const [name, where] of Object.entries(inputs)) {
    const url = `/tickets?where=${where.replaceAll('"', '%22')}`;
    const started = performance.now();
    const response = await apps.v1.inject(url);
    const ms = performance.now() - started;
    t.equal(response.statusCode, 400, name);
    t.same(problems(fromInject(response), 'v1', 'GET'), [], `${name}: sound answer`);
    t.match(
      (JSON.parse(response.body) as { _error: { message: string } })._error.message,
      WHERE,
      `${name}: a where error`,
    );
    // Generous for a busy machine; walking or backtracking over 10,000 levels costs far more.
    t.ok(ms < 250, `${name}: answered in ${ms.toFixed(1)} ms`);
  }
});

t.test('HEAD answers as GET, 304s included', async (t) => {
  // api.md: same status and headers, Content-Length of the GET body. RFC 9110
  // 8.6: a 304 carries no Content-Length, or the one the 200 would carry.
  const urls = ['/tickets?max_results=5&head-test', `/tickets/${IDS[1]}?head-test`];
  for (const url of urls) {
    const full = await apps.v1.inject({ method: 'GET', url });
    t.equal(full.statusCode, 200, url);
    const length = String(Buffer.byteLength(full.body));
    for (const conditional of [{}, { 'if-none-match': '*' }, { 'if-none-match': full.headers.etag as string }]) {
      const label = `${url} ${JSON.stringify(conditional)}`;
      const [get, head] = [
        await apps.v1.inject({ method: 'GET', url, headers: conditional }),
        await apps.v1.inject({ method: 'HEAD', url, headers: conditional }),
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
      const response = await apps.v2.inject({
        method: method as 'POST',
        url,
        payload: method === 'TRACE' ? undefined : '{}',
      });
      t.equal(response.statusCode, 405, `${method} ${url}`);
      t.equal(response.headers.allow, EVE_ALLOW, `${method} ${url}: Allow`);
      t.same(problems(fromInject(response), 'v2', method), [], `${method} ${url}: sound answer`);
    }
  }
});

t.test('request bodies on read-only routes', async (t) => {
  const big = 'x'.repeat(20 * 1024);
  await t.test('a small body on GET is ignored', async (t) => {
    const response = await apps.v1.inject({
      method: 'GET',
      url: '/tickets',
      payload: '{"status": "Open"}',
      headers: { 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 200);
    t.equal((JSON.parse(response.body) as { _meta: { total: number } })._meta.total, 100, 'and does not filter');
  });
  await t.test('a 20 KiB body on GET /tickets is 413 (inject)', async (t) => {
    const response = await apps.v1.inject({
      method: 'GET',
      url: '/tickets',
      payload: big,
      headers: { 'content-type': 'application/json' },
    });
    t.equal(response.statusCode, 413);
    t.same(problems(fromInject(response), 'v1', 'GET'), []);
  });
  await t.test('a 20 KiB body on OPTIONS /tickets is 413 (inject)', async (t) => {
    const response = await apps.v1.inject({
      method: 'OPTIONS',
      url: '/tickets',
      payload: big,
      headers: { 'content-type': 'text/plain' },
    });
    t.equal(response.statusCode, 413);
    t.same(problems(fromInject(response), 'v1', 'OPTIONS'), []);
  });
  await t.test('a 20 KiB body on GET /tickets is 413 on the wire, and the connection closes', async (t) => {
    const response = await rawExchange(
      wirePort,
      `GET /tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
    );
    t.equal(response.status, 413);
    t.equal(response.headers.connection?.toLowerCase(), 'close');
    t.same(problems(fromRaw(response), 'v1', 'GET'), []);
  });
  await t.test('a chunked 20 KiB body on GET /tickets is 413 on the wire', async (t) => {
    const response = await rawExchange(
      wirePort,
      `GET /tickets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    t.equal(response.status, 413);
    t.same(problems(fromRaw(response), 'v1', 'GET'), []);
  });
  await t.test('a body announced at 10 MB is refused without waiting for it', async (t) => {
    const connection = openRaw(t, wirePort);
    await connection.connected;
    connection.write(`GET /tickets HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${big}`);
    const response = await connection.readResponse(3000);
    t.equal(response.status, 413);
    await connection.waitClosed(1500);
    t.ok(connection.isClosed, 'the server closes the connection instead of reading 10 MB');
  });
});

t.test('limits of the HTTP parser, on the wire', async (t) => {
  const cases: [string, string, number][] = [
    ['a 20 KiB URL', `GET /tickets?x=${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    [
      'a 40 KiB URL (beyond the header buffer)',
      `GET /tickets?x=${'a'.repeat(40 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      414,
    ],
    ['a 40 KiB header', `GET /tickets HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`, 431],
    ['5,000 small headers', `GET /tickets HTTP/1.1\r\nHost: x\r\n${'X-A: bbbbbbbb\r\n'.repeat(5000)}\r\n`, 431],
    [
      'a URL just under 16 KiB',
      `GET /tickets?x=${'a'.repeat(URL_LIMIT - 20)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      200,
    ],
    ['a malformed request line', 'GET /tickets HTTP/9.9\r\nHost: x\r\n\r\n', 400],
    ['a header without a colon', 'GET /tickets HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n', 400],
    [
      'both Content-Length and Transfer-Encoding',
      'GET /tickets HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
  ];
  for (const [name, request, status] of cases) {
    const response = await rawExchange(wirePort, request);
    t.equal(response.status, status, name);
    t.same(problems(fromRaw(response), 'v1', 'GET'), [], `${name}: sound answer`);
  }
});

t.test('nothing polluted Object.prototype', async (t) => {
  // Runs last: every request above had its chance to pollute.
  t.same(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeSnapshot.object, 'Object.prototype');
  t.same(Object.getOwnPropertyNames(Array.prototype).sort(), prototypeSnapshot.array, 'Array.prototype');
  t.same(Object.getOwnPropertyNames(Function.prototype).sort(), prototypeSnapshot.function, 'Function.prototype');
  const probe: Record<string, unknown> = {};
  t.equal(probe.polluted, undefined);
  t.same(Object.keys(probe), []);
  const inherited: string[] = [];
  for (const key in probe) inherited.push(key);
  t.same(inherited, [], 'no enumerable inherited key');
  // The server still answers as before.
  const response = await apps.v1.inject('/tickets?max_results=1');
  t.equal(response.statusCode, 200);
});
