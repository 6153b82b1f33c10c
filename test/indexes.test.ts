// The indexes and the planner must answer exactly what a scan answers: every
// ticket tested by the filter's predicate, then sorted by the values
// themselves. Random filters, sorts and pages on datasets of many sizes.
import fc from 'fast-check';
import t from 'tap';
import { columnOf, type Dataset, FIELDS, generateDataset } from '../src/dataset.ts';
import { parseSort, type SortKey } from '../src/query.ts';
import { Indexes, PARALLEL_FROM } from '../src/select/indexes.ts';
import { smallest } from '../src/select/pages.ts';
import { Store } from '../src/store.ts';
import { compareCodePoints } from '../src/strings.ts';
import { FORMATTERS } from '../src/versions.ts';
import { parseWhere, type Where } from '../src/where/parse.ts';
import { compileWhere } from '../src/where/scan.ts';
import { filterArbitrary, poolsOf, pythonArbitrary, sortArbitrary } from './helpers/queries.ts';

// Customer names in scrambled case, so that folding them is exercised in sorts too.
const scrambled = (raw: string) =>
  [...raw].map((c, i) => ((i * 7 + raw.length) % 3 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');

// Sizes around the 32-bit words of a bitmap, and large enough for runs of equal values.
const DATASETS: Dataset[] = [
  [0, 1],
  [1, 2],
  [31, 3],
  [33, 4],
  [64, 5],
  [250, 6],
  [1000, 7],
  [5000, 8],
].map(([count, seed]) => generateDataset(count!, seed!, seed! % 2 ? scrambled : FORMATTERS.v2.format));

function compareValues(a: string | number, b: string | number): number {
  return typeof a === 'number' ? a - (b as number) : compareCodePoints(a, b as string);
}

/** The definition: test every ticket, then sort by the values, ties in dataset order. */
function scan(data: Dataset, where: Where | undefined, sort: SortKey[], skip: number, take: number) {
  const predicate = where ? compileWhere(data, where) : () => true;
  const hits = Array.from({ length: data.count }, (_, i) => i).filter(predicate);
  const columns = sort.flatMap((k) => {
    const column = columnOf(data, k.field);
    return column ? [{ get: column.get, direction: k.direction }] : [];
  });
  hits.sort((a, b) => {
    for (const { get, direction } of columns) {
      const d = compareValues(get(a), get(b));
      if (d !== 0) return d * direction;
    }
    return a - b;
  });
  return { total: hits.length, page: hits.slice(skip, skip + take) };
}

t.test('each index orders its field, ties in dataset order, equal values sharing a rank', async (t) => {
  for (const data of DATASETS) {
    const store = new Store(data);
    for (const field of FIELDS) {
      const index = store.indexes.of(field)!;
      const { get } = columnOf(data, field)!;
      const expected = Array.from({ length: data.count }, (_, i) => i).sort(
        (a, b) => compareValues(get(a), get(b)) || a - b,
      );
      t.same([...index.order], expected, `${field} at ${data.count} tickets`);
      let first = 0;
      const ranks = expected.map((ticket, p) => {
        if (p > 0 && get(expected[p - 1]!) !== get(ticket)) first = p;
        return [ticket, first];
      });
      t.same(
        ranks.map(([ticket]) => index.ranks[ticket!]),
        ranks.map(([, rank]) => rank),
        `${field} ranks`,
      );
    }
  }
});

t.test('a large dataset sorts on another core, into the same indexes', async (t) => {
  const large = generateDataset(PARALLEL_FROM, 9, FORMATTERS.v1.format);
  const inline = new Indexes(large);
  const built = await Indexes.build(large);
  for (const field of FIELDS) {
    const [a, b] = [built.of(field)!, inline.of(field)!];
    t.ok(Buffer.from(a.order.buffer).equals(Buffer.from(b.order.buffer)), `${field} order`);
    t.ok(Buffer.from(a.ranks.buffer).equals(Buffer.from(b.ranks.buffer)), `${field} ranks`);
  }
  // The index that sorted in the worker answers queries like the one that did not.
  const query = parseWhere('{"customer": {"$gte": "m"}, "status": {"$in": ["Open", "Closed"]}}');
  const sort = parseSort('-_updated,customer');
  const [viaWorker, viaInline] = [built, inline].map((indexes) =>
    new Store(large, { indexes }).select(query, sort, 500, 50),
  );
  t.same(viaWorker, viaInline);
  t.ok(viaWorker!.total > 0 && viaWorker!.page.length === 50);
});

t.test('ids and ETags that share their first bytes are ordered by the rest', async (t) => {
  const data = generateDataset(300, 9, FORMATTERS.v1.format);
  // Three prefixes for 300 tickets: runs that tie on the first four bytes, in no particular order.
  for (let i = 0; i < data.count; i++) data.ids.writeUInt32BE([0x11111111, 0x0, 0xfffffff0][i % 3]!, i * 16);
  const index = new Store(data).indexes.of('_id')!;
  const { get } = columnOf(data, '_id')!;
  const expected = Array.from({ length: data.count }, (_, i) => i).sort((a, b) => compareValues(get(a), get(b)));
  t.same([...index.order], expected);
  t.same(
    expected.map((i) => index.ranks[i]),
    expected.map((_, p) => p),
    'distinct ids, distinct ranks',
  );
});

t.test('random filters, sorts and pages: the same total and page as the scan', async (t) => {
  const cases = DATASETS.map((data) => ({ data, store: new Store(data), pools: poolsOf(data) }));
  const query = fc.nat({ max: cases.length - 1 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      where: fc.option(
        fc.oneof(
          filterArbitrary(cases[n]!.pools, FIELDS).map((f) => JSON.stringify(f)),
          pythonArbitrary(cases[n]!.pools, FIELDS),
        ),
        { nil: undefined, freq: 4 },
      ),
      sort: fc.option(sortArbitrary(FIELDS), { nil: undefined, freq: 3 }),
      skip: fc.oneof(fc.nat({ max: 60 }), fc.nat({ max: 5000 })),
      take: fc.integer({ min: 1, max: 50 }),
    }),
  );
  let selective = 0;
  fc.assert(
    fc.property(query, ({ n, where: whereText, sort: sortText, skip, take }) => {
      const { data, store } = cases[n]!;
      const where = whereText === undefined ? undefined : parseWhere(whereText);
      const sort = sortText === undefined ? [] : parseSort(sortText);
      // The store's own cache of filter results is part of what is tested: ask twice.
      const answers = [store.select(where, sort, skip, take), store.select(where, sort, skip, take)];
      const expected = scan(data, where, sort, skip, take);
      if (expected.total > 0 && expected.total < data.count) selective++;
      return answers.every(
        ({ total, page }) => total === expected.total && JSON.stringify([...page]) === JSON.stringify(expected.page),
      );
    }),
    { numRuns: 3000 },
  );
  t.ok(selective > 600, `${selective} of 3000 filters selected some but not all tickets`);
});

t.test('every page of a listing, walked or selected, joins into the scan’s whole order', async (t) => {
  const data = DATASETS.at(-1)!;
  const store = new Store(data);
  for (const [whereText, sortText] of [
    ['{"status": {"$in": ["Open", "Closed"]}}', 'status,-_created'],
    ['{"customer": {"$gte": "m"}}', '-customer'],
    ['status == "Open" or product < "G"', 'product,-status'],
    ['{"$nor": [{"status": "Open"}]}', '_id'],
    [undefined, '-_etag'],
  ] as const) {
    const where = whereText === undefined ? undefined : parseWhere(whereText);
    const sort = parseSort(sortText);
    const whole = scan(data, where, sort, 0, data.count).page;
    const pages: number[] = [];
    for (let skip = 0; skip < whole.length + 50; skip += 50) pages.push(...store.select(where, sort, skip, 50).page);
    t.same(pages, whole, `${whereText} sorted by ${sortText}`);
  }
});

t.test('smallest: the first k in order, whatever k', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 20 }), { maxLength: 200 }), fc.integer({ min: 1, max: 250 }), (values, k) => {
      const byValue = (a: number, b: number) => values[a]! - values[b]! || a - b;
      const indexes = values.map((_, i) => i);
      const expected = [...indexes].sort(byValue).slice(0, k);
      return JSON.stringify([...smallest(indexes, k, byValue)]) === JSON.stringify(expected);
    }),
  );
  t.pass('every array and k');
});
