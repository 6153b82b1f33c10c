// Hostile input for the property tests: fast-check generators of query
// strings, paths, methods, headers and bodies that aim at every parser of the
// service (where, sort, projection, embedded, paging, percent-decoding, the
// router), and the judgement every answer to them must pass.
import http from 'node:http';
import fc from 'fast-check';
import { type Answer, lenientDecode, problems } from './answers.ts';

// A new seed each run covers more ground over time; FC_SEED=<the seed of a failure> replays that run.
if (process.env.FC_SEED) fc.configureGlobal({ seed: Number(process.env.FC_SEED) });

export type Version = 'v1' | 'v2';

/**
 * Whether an HTTP client can send this request: it parses the URL with WHATWG
 * URL first, which refuses some targets ("/\\" is a host-less authority), and
 * refuses header values it could not write. Such requests go over the wire as
 * raw bytes in the raw-request property instead.
 */
export function sendable(url: string, headers: Record<string, string> = {}): boolean {
  try {
    new URL(url.startsWith('//') ? `http://localhost${url}` : url, 'http://localhost');
    for (const [name, value] of Object.entries(headers)) http.validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The one exception to "never a 5xx, every error in Eve's shape": readiness
 * answers 503 `{"status": ...}`, and an app that is not listening is not ready.
 */
export function isReadiness(answer: Answer, url: string): boolean {
  // Dot segments are removed before decoding by a client that parses the URL first (inject does:
  // `/%5C/%2e%2e/readyz` is `/readyz` to it), after decoding by the router: either way can reach /readyz.
  const reaches = (target: string) => {
    try {
      return /^\/readyz\/?$/.test(new URL(`http://x${target.replace(/^(?!\/)/, '/')}`).pathname);
    } catch {
      return false;
    }
  };
  return (
    answer.status === 503 &&
    (reaches(url) || reaches(lenientDecode(url))) &&
    (answer.body === '' || /^\{"status":"(?:starting|draining)"\}$/.test(answer.body))
  );
}

/** Throws, with the request and what was wrong, so fast-check reports and shrinks it. */
export function expectSound(
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

/** Percent-encodes the UTF-8 bytes of anything outside RFC 3986's unreserved set (lone surrogates become U+FFFD). */
export function pct(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export const BAD_ESCAPES = [
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
export const badEscape = fc.constantFrom(...BAD_ESCAPES);

export const FIELDS = [
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
export const NUMBERS = [
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
export const DATES = [
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

export const queryString = fc
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

export const headers = fc.record(
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

export const body = fc.option(
  fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.constantFrom('{"__proto__":{"polluted":1}}', '{bad')),
  { nil: undefined },
);

export const METHODS = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom(...http.METHODS) },
);

const uuidLike = fc.uuid().map((u) => u.toLowerCase());
export const SEGMENTS = [
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

/** Request paths: the service's own, near misses, traversal, random segments, long ids; `ID` is a real ticket's. */
export const pathArbitrary = (ID: string) =>
  fc.oneof(
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
