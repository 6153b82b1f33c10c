// Every malformed parameter and path the API contract (docs/api.md) names,
// one by one, with its exact status and message, on both versions and by HEAD;
// and deep nesting refused without walking it.
import t from 'tap';
import { fromResponse, NOT_FOUND, problems, prototypeGuard, URL_LIMIT } from './helpers/answers.ts';
import { appFor, closeApps, type Json } from './helpers/app.ts';
import { pct } from './helpers/hostile-input.ts';

const pollution = prototypeGuard();
t.teardown(closeApps);
const apps = { v1: await appFor('v1'), v2: await appFor('v2') };
const ID: string = ((await apps.v1.request('/tickets?max_results=1')).json() as Json)._items[0]._id;

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
  // An id is a lower-case UUID and anything else is a 404, however long.
  'an id of 101 characters': { url: `/tickets/${'a'.repeat(101)}`, status: 404, message: NOT_FOUND, exact: true },
  'an id of 2000 characters': { url: `/tickets/${'0'.repeat(2000)}`, status: 404, message: NOT_FOUND, exact: true },
  'a URL over 16 KiB': { url: `/tickets?x=${'a'.repeat(URL_LIMIT)}`, status: 414 },
  'a URL over 16 KiB on an unknown path': { url: `/${'a'.repeat(URL_LIMIT + 10)}`, status: 414 },
};

for (const version of ['v1', 'v2'] as const) {
  t.test(`malformed parameters, one by one (${version})`, async (t) => {
    for (const [name, c] of Object.entries(CASES)) {
      const response = await apps[version].request(c.url);
      const label = `${name}: ${c.url.length > 80 ? `${c.url.slice(0, 80)}...` : c.url}`;
      t.equal(response.statusCode, c.status, label);
      t.same(problems(fromResponse(response), version, 'GET'), [], `${name}: sound answer`);
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
    const response = await apps.v1.request({ method: 'HEAD', url: c.url });
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
  await apps.v1.request(`/tickets?where=${pct('{')}`);
  for (const [name, where] of Object.entries(inputs)) {
    const url = `/tickets?where=${where.replaceAll('"', '%22')}`;
    const started = performance.now();
    const response = await apps.v1.request(url);
    const ms = performance.now() - started;
    t.equal(response.statusCode, 400, name);
    t.same(problems(fromResponse(response), 'v1', 'GET'), [], `${name}: sound answer`);
    t.match(
      (JSON.parse(response.body) as { _error: { message: string } })._error.message,
      WHERE,
      `${name}: a where error`,
    );
    // Generous for a busy machine; walking or backtracking over 10,000 levels costs far more.
    t.ok(ms < 250, `${name}: answered in ${ms.toFixed(1)} ms`);
  }
});

t.test('nothing polluted a built-in prototype', async (t) => {
  // Runs last: every request above had its chance to pollute.
  t.same(pollution(), []);
});
