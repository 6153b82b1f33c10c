// Hand-written loops on the hot path, each checked against the rule it
// implements written the obvious way: link escaping against a regular
// expression, query parsing against URLSearchParams.
import fc from 'fast-check';
import t from 'tap';
import { parseParams } from '../src/query.ts';
import { escapeQueryValue } from '../src/serialize.ts';

const tricky = [
  '%',
  '%2',
  '%41',
  '%4g',
  '%aF',
  '%C3%A9',
  '%E2%82',
  '%FF',
  '%ED%A0%80',
  ' ',
  '"',
  '#',
  '\x7f',
  '\x00',
  '\t',
  'é',
  '😀',
  '\ud800',
  '\u00a0',
  '+',
  '&',
  '=',
  '~',
  "'",
];
const text = fc.string({ unit: fc.oneof(fc.constantFrom(...tricky), fc.string({ unit: 'grapheme', maxLength: 1 })) });

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among those a query may not hold raw.
const NOT_IN_QUERY = /[\s"{}<>|\\^`#\u{0}-\u{1f}\u{7f}-\u{10ffff}]|%(?![0-9A-Fa-f]{2})/gu;

t.test('link escaping escapes exactly what the rule escapes', async (t) => {
  fc.assert(
    fc.property(
      // Query values come from URLSearchParams, which never yields an unpaired surrogate.
      text.map((s) => s.replace(/\p{Surrogate}/gu, '')),
      (s) => escapeQueryValue(s) === s.replace(NOT_IN_QUERY, encodeURIComponent),
    ),
    { numRuns: 5000 },
  );
  t.equal(escapeQueryValue('{"a": "é%zz"}'), '%7B%22a%22:%20%22%C3%A9%25zz%22%7D');
  t.equal(escapeQueryValue('status==Open&x=1'), 'status==Open&x=1', 'safe text is returned as is');
});

t.test('query parameters decode as URLSearchParams decodes them, first occurrence first', async (t) => {
  const byRule = (query: string) => {
    const params = new Map<string, string>();
    // The constructor drops a leading '?'; a query string never starts with its own '?', so one there is a key's.
    for (const [key, value] of new URLSearchParams(`&${query}`)) if (!params.has(key)) params.set(key, value);
    return [...params];
  };
  fc.assert(
    fc.property(text, (s) => JSON.stringify([...parseParams(s)]) === JSON.stringify(byRule(s))),
    { numRuns: 5000 },
  );
  t.same([...parseParams('?')], [['?', '']], 'a second ? is part of a key, as in /tickets??');
  t.same([...parseParams('?%=1')], [['?%', '1']], 'also where a stray % leaves decoding to URLSearchParams');
  t.same(
    [...parseParams('a=1&&b=%20+x&a=2&c&=d')],
    [
      ['a', '1'],
      ['b', '  x'],
      ['c', ''],
      ['', 'd'],
    ],
  );
});
