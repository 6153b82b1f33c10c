// Every way a `where` can be refused, through HTTP: a 400 in Eve's shape whose
// message names what was wrong, on the collection and on an item alike. Each
// bad filter comes with a corrected one that answers 200, so a case proves the
// refusal is about that mistake and not about the filter as a whole.
import t from 'tap';
import { appFor, closeApps, get, type Json, page } from './helpers/app.ts';

t.teardown(closeApps);

const PARSE = 'Unable to parse `where` clause: ';

interface Case {
  /** What is wrong with it. */
  name: string;
  bad: string;
  /** The message, after PARSE unless `whole` says it is the whole message. */
  message: RegExp;
  whole?: boolean;
  /** The same intent, written right. */
  good: string;
}

const cases: Case[] = [
  // Mongo-style JSON
  {
    name: 'JSON that is not an object',
    bad: '5',
    message: /^expected a JSON object or a Python-style expression$/,
    good: '{"status": "Open"}',
  },
  {
    name: 'a JSON array',
    bad: '[{"status": "Open"}]',
    message: /^expected a JSON object or a Python-style expression$/,
    good: '{"status": "Open"}',
  },
  {
    name: 'broken JSON is reported as JSON, not retried as Python',
    bad: '{"status": "Open",}',
    // V8's own JSON.parse message, worded differently by Node.js releases.
    message: /JSON/,
    good: '{"status": "Open"}',
  },
  {
    name: 'a banned operator',
    bad: '{"customer": {"$regex": "^A"}}',
    message: /^Query contains operators banned: \$regex$/,
    whole: true,
    good: '{"customer": {"$gte": "A", "$lt": "B"}}',
  },
  {
    name: 'banned operators are named before unknown ones, each once',
    bad: '{"$where": "1", "status": {"$foo": 1}, "$or": [{"$where": "2"}]}',
    message: /^Query contains operators banned: \$where$/,
    whole: true,
    good: '{"$or": [{"status": "Open"}]}',
  },
  {
    name: 'an unknown operator',
    bad: '{"status": {"$size": 1}}',
    message: /^Query contains unknown or unsupported operators: \$size$/,
    whole: true,
    good: '{"status": {"$exists": true}}',
  },
  {
    name: 'a field operator where a logical one belongs',
    bad: '{"$eq": "Open"}',
    message: /^Query contains unknown or unsupported operators: \$eq$/,
    whole: true,
    good: '{"status": {"$eq": "Open"}}',
  },
  {
    name: 'a logical operator inside a field condition',
    bad: '{"status": {"$or": ["Open"]}}',
    message: /^Query contains unknown or unsupported operators: \$or$/,
    whole: true,
    good: '{"$or": [{"status": {"$eq": "Open"}}]}',
  },
  {
    name: 'a logical operator inside $not',
    bad: '{"status": {"$not": {"$and": ["Open"]}}}',
    message: /^Query contains unknown or unsupported operators: \$and$/,
    whole: true,
    good: '{"status": {"$not": {"$eq": "Open"}}}',
  },
  {
    name: '$in without an array',
    bad: '{"status": {"$in": "Open"}}',
    message: /^\$in needs an array$/,
    good: '{"status": {"$in": ["Open"]}}',
  },
  {
    name: '$nin without an array',
    bad: '{"status": {"$nin": {"Open": 1}}}',
    message: /^\$nin needs an array$/,
    good: '{"status": {"$nin": ["Open"]}}',
  },
  {
    name: '$and without an array',
    bad: '{"$and": {"status": "Open"}}',
    message: /^\$and needs an array$/,
    good: '{"$and": [{"status": "Open"}]}',
  },
  {
    name: '$or with no conditions',
    bad: '{"$or": []}',
    message: /^\$or needs a non-empty array of conditions$/,
    good: '{"$or": [{"status": "Open"}]}',
  },
  {
    name: '$nor with something other than conditions',
    bad: '{"$nor": ["Open"]}',
    message: /^\$nor needs a non-empty array of conditions$/,
    good: '{"$nor": [{"status": "Open"}]}',
  },
  {
    name: 'operators and plain values in one condition',
    bad: '{"status": {"$ne": "Open", "x": 1}}',
    message: /^operators and plain values mixed in one condition$/,
    good: '{"status": {"$ne": "Open"}}',
  },
  {
    name: '$not with a plain value',
    bad: '{"status": {"$not": "Open"}}',
    message: /^\$not needs an object of operators$/,
    good: '{"status": {"$not": {"$eq": "Open"}}}',
  },
  {
    name: '$not with no operator',
    bad: '{"status": {"$not": {}}}',
    message: /^\$not needs an object of operators$/,
    good: '{"status": {"$not": {"$in": []}}}',
  },
  // Python style
  {
    name: 'a character no expression has',
    bad: 'status == "Open" & product == "X"',
    message: /^unexpected "& product " at position 17$/,
    good: 'status == "Open" and product == "X"',
  },
  {
    name: 'an escape past the last code point',
    bad: 'customer == "\\U00110000"',
    message: /^invalid escape \\U00110000$/,
    good: 'customer == "\\U0010FFFF"',
  },
  {
    name: 'an unclosed parenthesis',
    bad: '(status == "Open" or status == "Pending"',
    message: /^expected `\)`, found end of input$/,
    good: '(status == "Open" or status == "Pending")',
  },
  {
    name: 'a parenthesis closed by something else',
    bad: '(status == "Open" "Pending")',
    message: /^expected `\)`, found `Pending`$/,
    good: '(status == "Open")',
  },
  {
    name: 'a comparison without a field',
    bad: '== "Open"',
    message: /^expected a field name, found `==`$/,
    good: 'status == "Open"',
  },
  {
    name: 'a dangling `and`',
    bad: 'status == "Open" and',
    message: /^expected a field name, found end of input$/,
    good: 'status == "Open"',
  },
  {
    name: 'a keyword where a field belongs',
    bad: 'or status == "Open"',
    message: /^expected a field name, found `or`$/,
    good: 'status == "Open"',
  },
  {
    name: 'a field without a comparison',
    bad: 'status "Open"',
    message: /^expected a comparison after `status`, found `Open`$/,
    good: 'status == "Open"',
  },
  {
    name: 'a comparison without a value',
    bad: 'status ==',
    message: /^expected a value after `==`, found end of input$/,
    good: 'status == Open',
  },
  {
    name: 'a chained comparison',
    bad: 'customer > "A" < "M"',
    message: /^chained comparisons are not supported$/,
    good: 'customer > "A" and customer < "M"',
  },
  {
    name: '`not` before a comparison',
    bad: 'not status == "Open"',
    message: /^operator `not` is not supported$/,
    good: 'status != "Open"',
  },
  {
    name: '`in` as a comparison',
    bad: 'status in "Open"',
    message: /^operator `in` is not supported$/,
    good: 'status == "Open"',
  },
  {
    name: '`is` as a value',
    bad: 'status == is',
    message: /^operator `is` is not supported$/,
    good: 'status == "is"',
  },
  {
    name: '`if` after a complete expression',
    bad: 'status == "Open" if x',
    message: /^operator `if` is not supported$/,
    good: 'status == "Open"',
  },
  {
    name: 'a token after a complete expression',
    bad: 'status == "Open")',
    message: /^unexpected `\)`$/,
    good: 'status == "Open"',
  },
  // Limits, checked on the raw text before any parser runs
  {
    name: 'longer than 4096 characters',
    bad: `{"customer": "${'x'.repeat(4096)}"}`,
    message: /^longer than 4096 characters$/,
    good: `{"customer": "${'x'.repeat(4000)}"}`,
  },
  {
    name: 'nested deeper than 32 levels',
    bad: `${'('.repeat(33)}status == "Open"${')'.repeat(33)}`,
    message: /^nested deeper than 32 levels$/,
    good: `${'('.repeat(32)}status == "Open"${')'.repeat(32)}`,
  },
  {
    name: 'brackets inside strings do not count as nesting',
    bad: `{"customer": "${'['.repeat(40)}", "$x": 1}`,
    message: /^Query contains unknown or unsupported operators: \$x$/,
    whole: true,
    good: `{"customer": "${'['.repeat(40)}"}`,
  },
];

const where = (text: string) => `where=${encodeURIComponent(text)}`;

t.test('each refused where answers 400 with a message that names the mistake', async (t) => {
  const app = await appFor('v1');
  const [first] = (await page(app, '/tickets?max_results=1'))._items as Json[];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      for (const path of ['/tickets', `/tickets/${first._id}`]) {
        const res = await get(app, `${path}?${where(c.bad)}`);
        t.equal(res.statusCode, 400, `${path}: 400`);
        t.match(res.headers['content-type'], /^application\/json/);
        t.equal(res.headers['x-ecadraft-version'], 'v1');
        const body = res.json();
        t.same(Object.keys(body), ['_status', '_error'], 'Eve shape');
        t.same(Object.keys(body._error), ['code', 'message']);
        t.equal(body._status, 'ERR');
        t.equal(body._error.code, 400);
        const message = String(body._error.message);
        t.notMatch(message, /\n/, 'one line');
        if (c.whole) {
          t.match(message, c.message, `${path}: ${message}`);
        } else {
          t.ok(message.startsWith(PARSE), `${path}: starts "${PARSE}" (${message})`);
          t.match(message.slice(PARSE.length), c.message, `${path}: ${message}`);
        }
      }
      const fixed = await get(app, `/tickets?${where(c.good)}`);
      t.equal(fixed.statusCode, 200, `written right, it is answered: ${c.good.slice(0, 60)}`);
    });
  }
});
