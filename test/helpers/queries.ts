// Random `where` and `sort` parameters for property tests, built from the
// values a dataset holds (in every casing, and cut short) so that filters
// select something, mixed with values that select nothing.
import fc from 'fast-check';
import { type Dataset, FIELDS, idAt, STATUSES } from '../../src/dataset.ts';
import { formatHttpDate } from '../../src/dates.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Pools {
  customers: string[];
  products: string[];
  dates: string[];
  ids: string[];
}

export function poolsOf(data: Dataset, size = 40): Pools {
  const pick = <T>(get: (i: number) => T) =>
    Array.from({ length: Math.min(size, data.count) }, (_, k) => get(Math.floor((k * data.count) / size)));
  return {
    customers: [...new Set(pick((i) => data.customers[i]!))],
    products: [...new Set(pick((i) => data.products[i]!))],
    dates: [...new Set([...pick((i) => data.created[i]!), ...pick((i) => data.updated[i]!)])].map(formatHttpDate),
    ids: pick((i) => idAt(data, i)),
  };
}

/** A text in a random mix of cases: the same customer as another version would spell it, and then some. */
const recased = (text: fc.Arbitrary<string>) =>
  fc.tuple(text, fc.constantFrom('as is', 'upper', 'lower', 'mixed'), fc.nat()).map(([s, how, bits]) => {
    if (how === 'upper') return s.toUpperCase();
    if (how === 'lower') return s.toLowerCase();
    if (how === 'as is') return s;
    return [...s].map((c, i) => ((bits >> (i % 30)) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
  });

const anyOf = (pool: string[]) => (pool.length === 0 ? fc.constant('') : fc.constantFrom(...pool));

/** A value from the pool, or its first few characters (range bounds fall between values). */
const fromPool = (pool: string[]) =>
  pool.length === 0
    ? fc.string({ maxLength: 4 })
    : fc
        .tuple(fc.constantFrom(...pool), fc.nat({ max: 12 }), fc.boolean())
        .map(([s, n, whole]) => (whole ? s : s.slice(0, n)));

export const INVARIANT_FIELDS = FIELDS.filter((f) => f !== '_etag');

/** Values that a condition on this field may compare with. */
function valueFor(field: string, pools: Pools): fc.Arbitrary<Json> {
  const odd = fc.oneof(fc.constant(null), fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.string({ maxLength: 3 }));
  switch (field) {
    case 'customer':
      return fc.oneof({ weight: 5, arbitrary: recased(fromPool(pools.customers)) }, { weight: 1, arbitrary: odd });
    case 'product':
      return fc.oneof({ weight: 5, arbitrary: fromPool(pools.products) }, { weight: 1, arbitrary: odd });
    case 'status':
      return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...STATUSES) }, { weight: 1, arbitrary: odd });
    case '_created':
    case '_updated':
      return fc.oneof({ weight: 5, arbitrary: anyOf(pools.dates) }, { weight: 1, arbitrary: odd });
    case '_id':
      return fc.oneof({ weight: 5, arbitrary: fromPool(pools.ids) }, { weight: 1, arbitrary: odd });
    default:
      return odd;
  }
}

const COMPARISONS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte'] as const;

function condition(field: string, pools: Pools): fc.Arbitrary<Json> {
  const value = valueFor(field, pools);
  const operators = fc.dictionary(fc.constantFrom(...COMPARISONS), value, { minKeys: 1, maxKeys: 2 });
  return fc.oneof(
    { weight: 4, arbitrary: value },
    { weight: 6, arbitrary: operators },
    { weight: 2, arbitrary: fc.record({ $in: fc.array(value, { maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ $nin: fc.array(value, { maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ $exists: fc.constantFrom(true, false, 0, 1, null) }) },
    { weight: 1, arbitrary: fc.record({ $not: operators }) },
  );
}

/** A Mongo-style filter over these fields (and one that no ticket has). */
export function filterArbitrary(pools: Pools, fields: readonly string[] = INVARIANT_FIELDS): fc.Arbitrary<Json> {
  const names = fc.constantFrom(...fields, 'nosuch');
  const leaf = names.chain((field) => condition(field, pools).map((c) => ({ [field]: c })));
  const { filter } = fc.letrec<{ filter: Json }>((tie) => ({
    filter: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 5, arbitrary: leaf },
      // Several fields in one object: an implicit $and.
      { weight: 2, arbitrary: fc.tuple(leaf, leaf).map(([a, b]) => ({ ...(a as object), ...(b as object) })) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom('$and', '$or', '$nor'), fc.array(tie('filter'), { minLength: 1, maxLength: 3 }))
          .map(([op, parts]) => ({ [op]: parts })),
      },
    ),
  }));
  return filter;
}

/** The same kind of filter as a Python-style expression (comparisons joined by and/or). */
export function pythonArbitrary(pools: Pools, fields: readonly string[] = INVARIANT_FIELDS): fc.Arbitrary<string> {
  const op = fc.constantFrom('==', '!=', '>', '>=', '<', '<=');
  const literal = (field: string) =>
    valueFor(field, pools).map((v) =>
      typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? String(v) : '"x"',
    );
  const comparison = fc
    .constantFrom(...fields)
    .chain((field) => fc.tuple(op, literal(field)).map(([o, v]) => `${field} ${o} ${v}`));
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small' },
      { weight: 4, arbitrary: comparison },
      {
        weight: 2,
        arbitrary: fc
          .tuple(tie('expr'), fc.constantFrom('and', 'or'), tie('expr'))
          .map(([a, word, b]) => `(${a}) ${word} ${b}`),
      },
    ),
  }));
  return expr;
}

/** A `sort` value in either of Eve's forms, over known fields and one unknown. */
export function sortArbitrary(fields: readonly string[] = INVARIANT_FIELDS): fc.Arbitrary<string> {
  const key = fc.tuple(fc.constantFrom(...fields, 'nosuch'), fc.constantFrom(1, -1));
  return fc
    .tuple(fc.uniqueArray(key, { minLength: 1, maxLength: 3, selector: ([f]) => f }), fc.boolean())
    .map(([keys, tuples]) =>
      tuples
        ? `[${keys.map(([f, d]) => `("${f}", ${d})`).join(', ')}]`
        : keys.map(([f, d]) => (d < 0 ? `-${f}` : f)).join(','),
    );
}

export interface QueryParts {
  where: string | undefined;
  sort: string | undefined;
  page: number;
  maxResults: number;
}

export function queryArbitrary(pools: Pools, fields: readonly string[] = INVARIANT_FIELDS): fc.Arbitrary<QueryParts> {
  return fc.record({
    where: fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: filterArbitrary(pools, fields).map((f) => JSON.stringify(f)) },
      { weight: 2, arbitrary: pythonArbitrary(pools, fields) },
    ),
    sort: fc.option(sortArbitrary(fields), { nil: undefined }),
    page: fc.integer({ min: 1, max: 4 }),
    maxResults: fc.integer({ min: 1, max: 50 }),
  });
}

export function queryString({ where, sort, page, maxResults }: QueryParts): string {
  const params = new URLSearchParams({ max_results: String(maxResults), page: String(page) });
  if (where !== undefined) params.set('where', where);
  if (sort !== undefined) params.set('sort', sort);
  return params.toString();
}
