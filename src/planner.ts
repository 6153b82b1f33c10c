// Answers a filter from the indexes and reads a page off a sorted order.
//
// A comparison on an indexed field is a span of that field's order, found by
// binary search: its size is known before any ticket is touched, and
// `$and`/`$or`/negations of conditions on one field are spans too (a status
// `$in` is the spans of its values). Across fields, `$and` starts from its
// smallest part and tests the others ticket by ticket, and `$or` and
// negations combine bitmaps. A page is then read off the requested order,
// walking it from the start and skipping tickets that do not match, when the
// matches are dense enough for that walk to be short; otherwise only the
// requested page is selected from the matches (a top-k), never the whole order.
import { findById, idAt } from './dataset.ts';
import type { Indexes, SortedIndex } from './indexes.ts';
import type { SortKey } from './query.ts';
import { type Condition, predicateOf } from './where.ts';

/** Positions [lo, hi) of an index's order: the tickets whose values lie in a range. */
type Span = readonly [lo: number, hi: number];

/** The tickets a filter selects, in whichever form was cheapest to get. */
export type Matches =
  | { readonly kind: 'all'; readonly count: number }
  /** Sorted, disjoint, non-empty spans of one index's order. */
  | { readonly kind: 'spans'; readonly index: SortedIndex; readonly spans: readonly Span[]; readonly count: number }
  /**
   * Bit i of word i >> 5 is set for ticket i. `within`: spans of indexes that
   * hold every member (those of an `$and`'s parts), so that a page sorted by
   * one of those fields walks only them.
   */
  | {
      readonly kind: 'bits';
      readonly words: Uint32Array;
      readonly count: number;
      readonly within?: readonly { readonly index: SortedIndex; readonly spans: readonly Span[] }[];
    };

type Test = (index: number) => boolean;

interface Plan {
  /** At most this many tickets match (exactly, for spans). */
  readonly estimate: number;
  /** Whether one ticket matches, in constant time or close to it. */
  readonly has: Test;
  readonly resolve: () => Matches;
  /** Set when the tickets are spans of one index. */
  readonly spans?: { readonly index: SortedIndex; readonly list: readonly Span[] };
}

/** How many times the smallest part's size the others may hold for a bitmap intersection to win. */
const BITWISE_RATIO = 4;

const sumOf = (plans: readonly Plan[]) => plans.reduce((sum, p) => sum + p.estimate, 0);

// ---- Spans ------------------------------------------------------------------
// Runs start and end where values change (binary searches find them), so
// unions, intersections and complements of spans are spans again, and a
// ticket lies in a span exactly when its rank does.

function normalized(spans: readonly Span[]): Span[] {
  const sorted = spans.filter(([lo, hi]) => lo < hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function intersection(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (lo < hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

function complement(spans: readonly Span[], count: number): Span[] {
  const out: Span[] = [];
  let from = 0;
  for (const [lo, hi] of spans) {
    if (from < lo) out.push([from, lo]);
    from = hi;
  }
  if (from < count) out.push([from, count]);
  return out;
}

const sizeOf = (spans: readonly Span[]) => spans.reduce((sum, [lo, hi]) => sum + hi - lo, 0);

// ---- Sets of tickets ------------------------------------------------------------

const wordsFor = (count: number) => new Uint32Array((count + 31) >>> 5);

function popcount(words: Uint32Array): number {
  let total = 0;
  for (let w = 0; w < words.length; w++) {
    let v = words[w]! | 0;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    total += Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return total;
}

function clearTail(words: Uint32Array, count: number): void {
  if (count & 31) words[words.length - 1]! &= (1 << (count & 31)) - 1;
}

/** The members of a set, in ascending ticket order except for spans of a sorted order. */
function members(matches: Matches, datasetOrder: SortedIndex): ArrayLike<number> {
  switch (matches.kind) {
    case 'all':
      return datasetOrder.order;
    case 'spans': {
      const { order } = matches.index;
      const [first] = matches.spans;
      if (matches.spans.length === 1) return order.subarray(first![0], first![1]);
      const out = new Uint32Array(matches.count);
      let k = 0;
      for (const [lo, hi] of matches.spans) {
        out.set(order.subarray(lo, hi), k);
        k += hi - lo;
      }
      return out;
    }
    case 'bits': {
      // Small sets in a plain array: a typed array's memory outside the heap costs more to get and free.
      // Words are read as signed 32-bit integers: V8 keeps those unboxed, where a word with its top bit
      // set read as unsigned is a heap number, which made this loop forty times slower.
      const out: number[] = [];
      const { words } = matches;
      for (let w = 0; w < words.length; w++) {
        let v = words[w]! | 0;
        while (v !== 0) {
          const low = v & -v;
          out.push((w << 5) | (31 - Math.clz32(low)));
          v ^= low;
        }
      }
      return out;
    }
  }
}

function membership(matches: Matches): Test {
  switch (matches.kind) {
    case 'all':
      return () => true;
    case 'spans': {
      const { ranks } = matches.index;
      const { spans } = matches;
      if (spans.length === 1) {
        const [lo, hi] = spans[0]!;
        return (i) => {
          const r = ranks[i]!;
          return r >= lo && r < hi;
        };
      }
      return (i) => {
        const r = ranks[i]!;
        for (let s = 0; s < spans.length; s++) if (r >= spans[s]![0] && r < spans[s]![1]) return true;
        return false;
      };
    }
    case 'bits': {
      const { words } = matches;
      return (i) => ((words[i >>> 5]! >>> (i & 31)) & 1) === 1;
    }
  }
}

/** Adds a set's members to a bitmap. */
function addTo(words: Uint32Array, matches: Matches, count: number): void {
  if (matches.kind === 'bits') {
    const other = matches.words;
    for (let w = 0; w < words.length; w++) words[w]! |= other[w]!;
  } else if (matches.kind === 'all') {
    words.fill(0xffffffff);
    clearTail(words, count);
  } else {
    const { order } = matches.index;
    for (const [lo, hi] of matches.spans) {
      for (let p = lo; p < hi; p++) {
        const i = order[p]!;
        words[i >>> 5]! |= 1 << (i & 31);
      }
    }
  }
}

export class Planner {
  readonly #count: number;

  constructor(readonly indexes: Indexes) {
    this.#count = indexes.data.count;
  }

  /** The tickets a condition selects. */
  evaluate(condition: Condition): Matches {
    return this.#plan(condition).resolve();
  }

  #all(): Plan {
    const count = this.#count;
    return { estimate: count, has: () => true, resolve: () => ({ kind: 'all', count }) };
  }

  #none(): Plan {
    return { estimate: 0, has: () => false, resolve: () => ({ kind: 'bits', words: wordsFor(this.#count), count: 0 }) };
  }

  #spansPlan(index: SortedIndex, list: readonly Span[]): Plan {
    const matches: Matches = { kind: 'spans', index, spans: list, count: sizeOf(list) };
    return { estimate: matches.count, has: membership(matches), resolve: () => matches, spans: { index, list } };
  }

  #plan(condition: Condition): Plan {
    switch (condition.op) {
      case 'const':
        return condition.value ? this.#all() : this.#none();
      case 'compare':
        return this.#comparison(condition);
      case 'and':
        return this.#and(condition.parts.map((c) => this.#plan(c)));
      case 'or':
        return this.#or(condition.parts.map((c) => this.#plan(c)));
      case 'not':
        return this.#not(this.#plan(condition.part));
    }
  }

  #comparison(condition: Extract<Condition, { op: 'compare' }>): Plan {
    const { field, test, value } = condition;
    const { data } = this.indexes;
    if (field === '_id' && test === 'eq') {
      // The id table: one lookup. It reads any hex spelling, so the ticket must also spell it exactly.
      const found = findById(data, value as string);
      if (found < 0 || idAt(data, found) !== value) return this.#none();
      const words = wordsFor(this.#count);
      words[found >>> 5] = 1 << (found & 31);
      const matches: Matches = { kind: 'bits', words, count: 1 };
      return { estimate: 1, has: (i) => i === found, resolve: () => matches };
    }
    // Ordering every ETag means hashing every ticket: a filter on them scans, unless a sort already built that index.
    if (field !== '_etag' || this.indexes.has(field)) {
      const index = this.indexes.of(field)!;
      return this.#spansPlan(index, normalized([index.span(test, value)]));
    }
    const has = predicateOf(data, condition);
    return {
      estimate: this.#count,
      has,
      resolve: () => this.#filter(this.#all().resolve(), [has]),
    };
  }

  #and(parts: Plan[]): Plan {
    // Conditions on one field intersect their spans: a two-sided range costs two binary searches.
    const byIndex = new Map<SortedIndex, readonly Span[]>();
    const others: Plan[] = [];
    for (const part of parts) {
      if (!part.spans) {
        others.push(part);
        continue;
      }
      const { index, list } = part.spans;
      const seen = byIndex.get(index);
      byIndex.set(index, seen ? intersection(seen, list) : list);
    }
    const plans = [...[...byIndex].map(([index, list]) => this.#spansPlan(index, list)), ...others].sort(
      (a, b) => a.estimate - b.estimate,
    );
    if (plans.length === 1) return plans[0]!;
    // The smallest part's tickets, each tested against the others.
    const [best, ...rest] = plans as [Plan, ...Plan[]];
    const tests = rest.map((p) => p.has);
    const within = [...byIndex].map(([index, spans]) => ({ index, spans }));
    // Testing each of the smallest part's tickets costs a lookup per part; when
    // every part is spans, writing each part's tickets into a bitmap and
    // AND-ing the words costs a plain store per ticket, which is cheaper once
    // the smallest part is not much smaller than the others.
    const bitwise = rest.every((p) => p.spans) && sumOf(rest) <= BITWISE_RATIO * best.estimate * rest.length;
    return {
      estimate: best.estimate,
      has: (i) => best.has(i) && tests.every((t) => t(i)),
      resolve: () => ({ ...(bitwise ? this.#intersect(plans) : this.#filter(best.resolve(), tests)), within }),
    };
  }

  #or(parts: Plan[]): Plan {
    const [first] = parts;
    const index = first?.spans?.index;
    if (index && parts.every((p) => p.spans?.index === index))
      return this.#spansPlan(index, normalized(parts.flatMap((p) => p.spans!.list)));
    const count = this.#count;
    return {
      estimate: Math.min(
        count,
        parts.reduce((sum, p) => sum + p.estimate, 0),
      ),
      has: (i) => parts.some((p) => p.has(i)),
      resolve: () => {
        const words = wordsFor(count);
        for (const part of parts) addTo(words, part.resolve(), count);
        return { kind: 'bits', words, count: popcount(words) };
      },
    };
  }

  #not(part: Plan): Plan {
    const count = this.#count;
    if (part.spans) return this.#spansPlan(part.spans.index, complement(part.spans.list, count));
    return {
      estimate: count,
      has: (i) => !part.has(i),
      resolve: () => {
        const matches = part.resolve();
        const words = wordsFor(count);
        addTo(words, matches, count);
        for (let w = 0; w < words.length; w++) words[w] = ~words[w]!;
        clearTail(words, count);
        return { kind: 'bits', words, count: count - matches.count };
      },
    };
  }

  /** The tickets every plan selects, AND-ed a word at a time. */
  #intersect(plans: readonly Plan[]): Matches & { kind: 'bits' } {
    const count = this.#count;
    const words = wordsFor(count);
    addTo(words, plans[0]!.resolve(), count);
    const part = wordsFor(count);
    for (const plan of plans.slice(1)) {
      part.fill(0);
      addTo(part, plan.resolve(), count);
      for (let w = 0; w < words.length; w++) words[w]! &= part[w]!;
    }
    return { kind: 'bits', words, count: popcount(words) };
  }

  /** The members of a set that pass every test. */
  #filter(matches: Matches, tests: Test[]): Matches & { kind: 'bits' } {
    const words = wordsFor(this.#count);
    let found = 0;
    const candidates = members(matches, this.indexes.datasetOrder);
    const [test, ...more] = tests;
    for (let k = 0; k < candidates.length; k++) {
      const i = candidates[k]!;
      if (test && !test(i)) continue;
      if (more.length > 0 && !more.every((t) => t(i))) continue;
      words[i >>> 5]! |= 1 << (i & 31);
      found++;
    }
    return { kind: 'bits', words, count: found };
  }

  /**
   * Tickets [skip, skip + take) of the matches in the order of the sort keys
   * (fields tickets lack already left out), ties in dataset order.
   */
  page(matches: Matches, sort: readonly SortKey[], skip: number, take: number): number[] {
    const total = matches.count;
    const needed = Math.min(skip + take, total);
    if (skip >= needed) return [];
    const keys = sort.map((k) => ({ index: this.indexes.of(k.field)!, direction: k.direction }));
    const [primary = { index: this.indexes.datasetOrder, direction: 1 }, ...rest] = keys;
    // Spans of the primary order are read directly; anything else is walked
    // over the spans that hold it (the whole order if none is known),
    // skipping tickets that do not match. A walk visits about needed /
    // density positions (to the end of a run of equal values when later keys
    // must order it); a top-k visits every match once.
    const inSpans = matches.kind === 'spans' && matches.index === primary.index;
    const bound = inSpans
      ? matches.spans
      : matches.kind === 'bits'
        ? matches.within?.find((w) => w.index === primary.index)?.spans
        : undefined;
    const domain: readonly Span[] = bound ?? [[0, this.#count]];
    const visits = Math.ceil((needed * (bound ? sizeOf(bound) : this.#count)) / total);
    const density = total / sizeOf(domain);
    const walkCost =
      rest.length === 0
        ? visits
        : Math.min(
            toRunEnd(primary.index, primary.direction, domain, visits),
            // Or walk the next key's order for the first run's matches (see walk).
            (needed * this.#count) / (toRunEnd(primary.index, primary.direction, domain, 1) * density),
          );
    const topKCost = matches.kind === 'bits' ? total + (this.#count >>> 5) : total;
    const picked =
      walkCost <= topKCost
        ? walk(
            primary.index,
            primary.direction,
            domain,
            inSpans ? undefined : membership(matches),
            rest,
            needed,
            density,
          )
        : smallest(members(matches, this.indexes.datasetOrder), needed, comparator(keys));
    return picked.slice(skip, needed);
  }
}

/** Positions a walk visits to pass `visits` positions of the domain and finish the run of equal values it is in. */
function toRunEnd({ order, ranks }: SortedIndex, direction: 1 | -1, domain: readonly Span[], visits: number): number {
  let passed = 0;
  for (const [lo, hi] of direction === 1 ? domain : [...domain].reverse()) {
    if (passed + hi - lo < visits) {
      passed += hi - lo;
      continue;
    }
    const k = visits - passed;
    if (direction === -1) return passed + hi - Math.max(lo, ranks[order[hi - k]!]!);
    // The run holding position p ends at the first position whose rank is past p.
    const p = lo + k - 1;
    let a = p + 1;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (ranks[order[mid]!]! > p) b = mid;
      else a = mid + 1;
    }
    return passed + a - lo;
  }
  return passed;
}

/** The first `needed` matches in the order of a primary index (and later keys within its runs). */
function walk(
  primary: SortedIndex,
  direction: 1 | -1,
  domain: readonly Span[],
  has: Test | undefined,
  rest: readonly Key[],
  needed: number,
  /** Matches per position of the domain. */
  density: number,
): number[] {
  const { order, ranks } = primary;
  const out: number[] = [];
  const byRest = rest.length > 0 ? comparator(rest) : undefined;
  // A run of equal primary values, in dataset order: taken as it comes, or ordered by the later keys.
  const takeRun = (start: number, end: number) => {
    if (!byRest) {
      for (let p = start; p < end && out.length < needed; p++) {
        const i = order[p]!;
        if (!has || has(i)) out.push(i);
      }
      return;
    }
    // Walking the next key's whole order for this run's matches passes about
    // want / share positions: fewer than the run holds when the run is long
    // (a field of few values, such as status) and the page short.
    const want = needed - out.length;
    const share = ((end - start) * density) / order.length;
    if (want < share * (end - start)) {
      const [next, ...later] = rest as [Key, ...Key[]];
      const inRun: Test = has ? (i) => ranks[i] === start && has(i) : (i) => ranks[i] === start;
      for (const i of walk(next.index, next.direction, [[0, order.length]], inRun, later, want, share)) out.push(i);
      return;
    }
    const run: number[] = [];
    for (let p = start; p < end; p++) {
      const i = order[p]!;
      if (!has || has(i)) run.push(i);
    }
    for (const i of smallest(run, needed - out.length, byRest)) out.push(i);
  };
  for (const [lo, hi] of direction === 1 ? domain : [...domain].reverse()) {
    if (direction === 1 && !byRest) {
      takeRun(lo, hi);
    } else if (direction === 1) {
      for (let p = lo; p < hi && out.length < needed; ) {
        const rank = ranks[order[p]!]!;
        let end = p + 1;
        while (end < hi && ranks[order[end]!] === rank) end++;
        takeRun(p, end);
        p = end;
      }
    } else {
      for (let p = hi; p > lo && out.length < needed; ) {
        const start = Math.max(lo, ranks[order[p - 1]!]!);
        takeRun(start, p);
        p = start;
      }
    }
    if (out.length >= needed) break;
  }
  return out;
}

interface Key {
  index: SortedIndex;
  direction: 1 | -1;
}

/** Orders tickets by the keys, then by dataset order. */
function comparator(keys: readonly Key[]): (a: number, b: number) => number {
  const columns = keys.map((k) => ({ ranks: k.index.ranks, direction: k.direction }));
  return (a, b) => {
    for (const { ranks, direction } of columns) {
      const d = ranks[a]! - ranks[b]!;
      if (d !== 0) return d * direction;
    }
    return a - b;
  };
}

/**
 * The k first candidates in the comparator's order, sorted: a bounded
 * max-heap, so selecting a page of 25 from a million costs about a million
 * comparisons with the heap's top rather than a full sort.
 */
export function smallest(
  candidates: ArrayLike<number>,
  k: number,
  compare: (a: number, b: number) => number,
): number[] {
  const n = candidates.length;
  if (n <= k) return Array.from(candidates).sort(compare);
  const heap: number[] = new Array(k);
  let size = 0;
  const replaceTop = (item: number) => {
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && compare(heap[child + 1]!, heap[child]!) > 0) child++;
      if (compare(heap[child]!, item) <= 0) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = item;
  };
  for (let c = 0; c < n; c++) {
    const candidate = candidates[c]!;
    if (size < k) {
      // Sift up.
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (compare(heap[parent]!, candidate) >= 0) break;
        heap[at] = heap[parent]!;
        at = parent;
      }
      heap[at] = candidate;
    } else if (compare(candidate, heap[0]!) < 0) {
      replaceTop(candidate);
    }
  }
  return heap.sort(compare);
}
