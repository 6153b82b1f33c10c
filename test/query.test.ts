// Parameter parsing and matching on their own, below the HTTP layer.
import t from 'tap';
import { generateDataset } from '../src/dataset.ts';
import { parseListQuery, parseMaxResults, parsePage, parseSort } from '../src/query.ts';
import { compareCodePoints } from '../src/strings.ts';
import { FORMATTERS } from '../src/versions.ts';
import { parseWhere } from '../src/where/parse.ts';
import { compileWhere } from '../src/where/scan.ts';

t.test('numbers as Python reads them', async (t) => {
  t.equal(parseMaxResults('1_0'), 10);
  t.equal(parseMaxResults(' 7 '), 7);
  t.equal(parseMaxResults('5.'), 5);
  t.equal(parseMaxResults('.9'), 25);
  t.equal(parseMaxResults('inf'), 50);
  t.equal(parseMaxResults('-inf'), 25);
  t.equal(parseMaxResults('0x10'), 25, 'no hex in Python float()');
  t.equal(parsePage('1_000'), 1000);
  t.equal(parsePage('-0'), 1);
  t.equal(parsePage('9'.repeat(40)), Number.MAX_SAFE_INTEGER);
});

t.test('sort forms', async (t) => {
  t.same(parseSort('[("a", 1), (\'b\', -1)]'), [
    { field: 'a', direction: 1 },
    { field: 'b', direction: -1 },
  ]);
  t.same(parseSort('[["a", -1]]'), [{ field: 'a', direction: -1 }]);
  t.same(parseSort('[]'), []);
  t.same(parseSort('a, -b'), [
    { field: 'a', direction: 1 },
    { field: 'b', direction: -1 },
  ]);
  for (const bad of ['a,,b', ',a', '-', '[("a")]', '[("a", 1)', '[("a", 0)]', 'a b']) {
    t.throws(() => parseSort(bad), { statusCode: 400, message: /^Unable to parse `sort`/ }, bad);
  }
});

t.test('the query names every parameter once, in request order', async (t) => {
  const query = parseListQuery('b=2&where=&a=1&b=3&pretty&sort=x');
  t.same(query.others, [
    ['b', '2'],
    ['a', '1'],
    ['pretty', ''],
  ]);
  t.equal(query.whereText, undefined, 'an empty where is absent');
  t.ok(query.pretty);
  t.equal(query.sortText, 'x');
});

t.test('where: size limits are checked before parsing', async (t) => {
  t.throws(() => parseWhere(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`), {
    statusCode: 400,
    message: /nested deeper than 32 levels/,
  });
  t.throws(() => parseWhere(`{"a":${'['.repeat(40)}${']'.repeat(40)}}`), {
    statusCode: 400,
    message: /nested deeper than 32 levels/,
  });
  t.throws(() => parseWhere(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), {
    statusCode: 400,
    message: /longer than 4096/,
  });
  t.doesNotThrow(() => parseWhere(`${'{"a":'.repeat(32)}1${'}'.repeat(32)}`), '32 levels are allowed');
  t.throws(() => parseWhere(`{"a":"${'x'.repeat(4100)}"}`), { statusCode: 400, message: /longer than 4096/ });
  t.doesNotThrow(() => parseWhere(`${'{"$and":['.repeat(10)}{"a":1}${']}'.repeat(10)}`), 'moderate nesting is fine');
  t.doesNotThrow(
    () => parseWhere('{"a": "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"}'),
    'brackets in strings do not count',
  );
});

t.test('where: Python expressions become Mongo filters', async (t) => {
  t.same(parseWhere('a == "x" and (b > 1 or c != \'y\')').filter, {
    $and: [{ a: { $eq: 'x' } }, { $or: [{ b: { $gt: 1 } }, { c: { $ne: 'y' } }] }],
  });
  t.same(parseWhere('a==B_c').filter, { a: { $eq: 'B_c' } });
  t.same(parseWhere('a <= -1.5e3').filter, { a: { $lte: -1500 } });
  t.same(parseWhere('a == "\\x41\\n\\q"').filter, { a: { $eq: 'A\n\\q' } });
  for (const bad of [
    'a',
    'a ==',
    '== 1',
    'a == 1 and',
    'not a == 1',
    'a in b',
    'a is b',
    '1 < a < 2',
    '(a == 1',
    'a == 1)',
    'a = 1',
    'a == lambda',
  ]) {
    t.throws(() => parseWhere(bad), { statusCode: 400, message: /^Unable to parse `where` clause/ }, bad);
  }
});

t.test('where: prototype keys are plain field names', async (t) => {
  const data = generateDataset(20, 1, FORMATTERS.v1.format);
  for (const text of [
    '{"__proto__": {"x": 1}}',
    '{"constructor": "x"}',
    '__proto__ == "x"',
    '{"status": {"$in": ["__proto__"]}}',
  ]) {
    const where = parseWhere(text);
    const predicate = compileWhere(data, where);
    t.equal([...Array(20).keys()].filter(predicate).length, 0, text);
  }
  t.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
});

t.test('strings compare by code point', async (t) => {
  t.ok(compareCodePoints('\u{1F600}', '\uFFFD') > 0, 'an astral character sorts above the BMP');
  t.ok('\u{1F600}' < '\uFFFD', 'where UTF-16 order says otherwise');
  t.ok(compareCodePoints('a', 'b') < 0);
  t.ok(compareCodePoints('ab', 'a') > 0);
  t.equal(compareCodePoints('x', 'x'), 0);
});
