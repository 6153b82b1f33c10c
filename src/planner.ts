// Answers a filter from the indexes and reads a page off a sorted order.
//
// A comparison on an indexed field is a run of that field's order, found by
// binary search: its size is known before any ticket is touched. `$and` starts
// from its smallest part and tests the others ticket by ticket; `$or` and
// negations combine bitmaps. A page is then read off the requested order,
// walking it from the start and skipping tickets that do not match, when the
// matches are dense enough for that walk to be short; otherwise only the
// requested page is selected from the matches (a top-k), never the whole order.
import { findById, idAt } from './dataset.ts';
import type { Indexes, SortedIndex } from './indexes.ts';
import type { SortKey } from './query.ts';
import { type Condition, predicateOf } from './where.ts';

/** The tickets a filter selects, in whichever form was cheapest to get. */
export type Matches =
  | { readonly kind: 'all'; readonly count: number }
  /** Positions [lo, hi) of an index's order. */
  | {
      readonly kind: 'run';
      readonly index: SortedIndex;
      readonly lo: number;
      readonly hi: number;
      readonly count: number;
    }
  /** Bit i of word i >> 5 is set for ticket i. */
  | { readonly kind: 'bits'; readonly words: Uint32Array; readonly count: number };

type Test = (index: number) => boolean;

interface Plan {
  /** At most this many tickets match. */
  readonly estimate: number;
  /** Whether one ticket matches, in constant time or close to it. */
  readonly has: Test;
  readonly resolve: () => Matches;
  /** Set when the tickets are a run of an index's order. */
  readonly run?: { index: SortedIndex; lo: number; hi: number };
}

const wordsFor = (count: number) => new Uint32Array((count + 31) >>> 5);

function popcount(words: Uint32Array): number {
  let total = 0;
  for (let w = 0; w < words.length; w++) {
    let v = words[w]!;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    total += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return total;
}

/** The members of a set, in ascending ticket order except for a run of a sorted order. */
export function members(matches: Matches, datasetOrder: SortedIndex): Uint32Array {
  switch (matches.kind) {
    case 'all':
      return datasetOrder.order;
    case 'run':
      return matches.index.order.subarray(matches.lo, matches.hi);
    case 'bits': {
      const out = new Uint32Array(matches.count);
      const { words } = matches;
      let k = 0;
      for (let w = 0; w < words.length; w++) {
        let v = words[w]!;
        while (v !== 0) {
          const low = v & -v;
          out[k++] = (w << 5) | (31 - Math.clz32(low));
          v ^= low;
        }
      }
      return out;
    }
  }
}

export function membership(matches: Matches): Test {
  switch (matches.kind) {
    case 'all':
      return () => true;
    case 'run': {
      // Runs start and end where values change, so a rank inside one is a ticket inside it.
      const { lo, hi } = matches;
      const { ranks } = matches.index;
      return (i) => {
        const r = ranks[i]!;
        return r >= lo && r < hi;
      };
    }
    case 'bits': {
      const { words } = matches;
      return (i) => ((words[i >>> 5]! >>> (i & 31)) & 1) === 1;
    }
  }
}

function bitsOf(matches: Matches, count: number): Uint32Array {
  if (matches.kind === 'bits') return matches.words.slice();
  const words = wordsFor(count);
  if (matches.kind === 'all') {
    words.fill(0xffffffff);
    clearTail(words, count);
    return words;
  }
  const { order } = matches.index;
  for (let p = matches.lo; p < matches.hi; p++) {
    const i = order[p]!;
    words[i >>> 5]! |= 1 << (i & 31);
  }
  return words;
}

function clearTail(words: Uint32Array, count: number): void {
  if (count & 31) words[words.length - 1]! &= (1 << (count & 31)) - 1;
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

  #runPlan(index: SortedIndex, lo: number, hi: number): Plan {
    const matches: Matches = { kind: 'run', index, lo, hi, count: Math.max(0, hi - lo) };
    return { estimate: matches.count, has: membership(matches), resolve: () => matches, run: { index, lo, hi } };
  }

  #bitsPlan(words: Uint32Array, count: number): Plan {
    const matches: Matches = { kind: 'bits', words, count };
    return { estimate: count, has: membership(matches), resolve: () => matches };
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
      return this.#bitsPlan(words, 1);
    }
    // Ordering every ETag means hashing every ticket: a filter on them scans, unless a sort already built that index.
    if (field !== '_etag' || this.indexes.has(field)) {
      const index = this.indexes.of(field)!;
      const [lo, hi] = index.span(test, value);
      return this.#runPlan(index, lo, hi);
    }
    const has = predicateOf(data, condition);
    return {
      estimate: this.#count,
      has,
      resolve: () => this.#filter(this.#all().resolve(), [has]),
    };
  }

  #and(parts: Plan[]): Plan {
    // Ranges on the same field narrow one run: a two-sided range costs two binary searches.
    const runs = new Map<SortedIndex, { lo: number; hi: number }>();
    const others: Plan[] = [];
    for (const part of parts) {
      if (!part.run) {
        others.push(part);
        continue;
      }
      const { index, lo, hi } = part.run;
      const seen = runs.get(index);
      runs.set(index, seen ? { lo: Math.max(seen.lo, lo), hi: Math.min(seen.hi, hi) } : { lo, hi });
    }
    const narrowed = [...runs].map(([index, { lo, hi }]) => this.#runPlan(index, lo, hi));
    const plans = [...narrowed, ...others].sort((a, b) => a.estimate - b.estimate);
    if (plans.length === 1) return plans[0]!;
    const [best, ...rest] = plans as [Plan, ...Plan[]];
    const tests = rest.map((p) => p.has);
    return {
      estimate: best.estimate,
      has: (i) => best.has(i) && tests.every((t) => t(i)),
      resolve: () => this.#filter(best.resolve(), tests),
    };
  }

  #or(parts: Plan[]): Plan {
    const count = this.#count;
    return {
      estimate: Math.min(
        count,
        parts.reduce((sum, p) => sum + p.estimate, 0),
      ),
      has: (i) => parts.some((p) => p.has(i)),
      resolve: () => {
        const words = wordsFor(count);
        for (const part of parts) {
          const matches = part.resolve();
          if (matches.kind === 'all') return matches;
          if (matches.kind === 'bits') {
            const other = matches.words;
            for (let w = 0; w < words.length; w++) words[w]! |= other[w]!;
          } else {
            const { order } = matches.index;
            for (let p = matches.lo; p < matches.hi; p++) {
              const i = order[p]!;
              words[i >>> 5]! |= 1 << (i & 31);
            }
          }
        }
        return { kind: 'bits', words, count: popcount(words) };
      },
    };
  }

  #not(part: Plan): Plan {
    const count = this.#count;
    return {
      estimate: count,
      has: (i) => !part.has(i),
      resolve: () => {
        const matches = part.resolve();
        const words = bitsOf(matches, count);
        for (let w = 0; w < words.length; w++) words[w] = ~words[w]!;
        clearTail(words, count);
        return { kind: 'bits', words, count: count - matches.count };
      },
    };
  }

  /** The members of a set that pass every test. */
  #filter(matches: Matches, tests: Test[]): Matches {
    const words = wordsFor(this.#count);
    let found = 0;
    const candidates = members(matches, this.indexes.datasetOrder);
    next: for (let k = 0; k < candidates.length; k++) {
      const i = candidates[k]!;
      for (const test of tests) if (!test(i)) continue next;
      words[i >>> 5]! |= 1 << (i & 31);
      found++;
    }
    return { kind: 'bits', words, count: found };
  }

  /**
   * Tickets [skip, skip + take) of the matches in the order of the sort keys
   * (fields tickets lack already left out), ties in dataset order.
   */
  page(matches: Matches, sort: readonly SortKey[], skip: number, take: number): Uint32Array {
    const total = matches.count;
    const needed = Math.min(skip + take, total);
    if (skip >= needed) return new Uint32Array(0);
    const keys = sort.map((k) => ({ index: this.indexes.of(k.field)!, direction: k.direction }));
    const [primary = { index: this.indexes.datasetOrder, direction: 1 }, ...rest] = keys;
    // Walking the primary order visits about needed / density positions (to the
    // end of a run of equal values when later keys must order it); a top-k
    // visits every match once.
    const inRun = matches.kind === 'run' && matches.index === primary.index;
    const lo = inRun ? matches.lo : 0;
    const hi = inRun ? matches.hi : this.#count;
    const visits = Math.ceil((needed * (hi - lo)) / total);
    const walkCost = rest.length === 0 ? visits : this.#toRunEnd(primary.index, primary.direction, lo, hi, visits);
    const topKCost = matches.kind === 'bits' ? total + (this.#count >>> 5) : total;
    const picked =
      walkCost <= topKCost
        ? this.#walk(primary.index, primary.direction, lo, hi, inRun ? undefined : membership(matches), rest, needed)
        : smallest(members(matches, this.indexes.datasetOrder), needed, comparator(keys));
    return picked.subarray(skip, needed);
  }

  /** Positions a walk visits to reach `visits` positions and finish the run of equal values it is in. */
  #toRunEnd({ order, ranks }: SortedIndex, direction: 1 | -1, lo: number, hi: number, visits: number): number {
    if (visits >= hi - lo) return hi - lo;
    if (direction === -1) return hi - Math.max(lo, ranks[order[hi - visits]!]!);
    // The run holding position p ends at the first position whose rank is past p.
    const p = lo + visits - 1;
    let a = p + 1;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (ranks[order[mid]!]! > p) b = mid;
      else a = mid + 1;
    }
    return a - lo;
  }

  #walk(
    primary: SortedIndex,
    direction: 1 | -1,
    lo: number,
    hi: number,
    has: Test | undefined,
    rest: readonly Key[],
    needed: number,
  ): Uint32Array {
    const { order, ranks } = primary;
    const out = new Uint32Array(needed);
    let found = 0;
    const byRest = rest.length > 0 ? comparator(rest) : undefined;
    // A run of equal primary values, in dataset order: taken as it comes, or ordered by the later keys.
    const takeRun = (start: number, end: number) => {
      if (!byRest) {
        for (let p = start; p < end && found < needed; p++) {
          const i = order[p]!;
          if (!has || has(i)) out[found++] = i;
        }
        return;
      }
      const run: number[] = [];
      for (let p = start; p < end; p++) {
        const i = order[p]!;
        if (!has || has(i)) run.push(i);
      }
      const best = smallest(run, needed - found, byRest);
      out.set(best, found);
      found += best.length;
    };
    if (direction === 1 && !byRest) {
      takeRun(lo, hi);
    } else if (direction === 1) {
      for (let p = lo; p < hi && found < needed; ) {
        const rank = ranks[order[p]!]!;
        let end = p + 1;
        while (end < hi && ranks[order[end]!] === rank) end++;
        takeRun(p, end);
        p = end;
      }
    } else {
      for (let p = hi; p > lo && found < needed; ) {
        const start = Math.max(lo, ranks[order[p - 1]!]!);
        takeRun(start, p);
        p = start;
      }
    }
    return out.subarray(0, found);
  }
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
): Uint32Array {
  const n = candidates.length;
  if (n <= k) return Uint32Array.from(candidates).sort(compare);
  const heap = new Uint32Array(k);
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
