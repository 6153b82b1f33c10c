// Reading a page off the matches of a filter in the requested order: walking
// the order from the start and skipping tickets that do not match, when the
// matches are dense enough for that walk to be short; otherwise selecting only
// the requested page from the matches (a top-k), never sorting the whole order.

import type { SortKey } from '../query.ts';
import type { Indexes, SortedIndex } from './indexes.ts';
import { type Span, sizeOf } from './spans.ts';
import { type Matches, members, membership, type Test } from './ticket-sets.ts';

/**
 * Tickets [skip, skip + take) of the matches in the order of the sort keys
 * (fields tickets lack already left out), ties in dataset order.
 */
export function pageOf(
  indexes: Indexes,
  matches: Matches,
  sort: readonly SortKey[],
  skip: number,
  take: number,
): number[] {
  const count = indexes.data.count;
  const total = matches.count;
  const needed = Math.min(skip + take, total);
  if (skip >= needed) return [];
  const keys = sort.map((k) => ({ index: indexes.of(k.field)!, direction: k.direction }));
  const [primary = { index: indexes.datasetOrder, direction: 1 }, ...rest] = keys;
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
  const domain: readonly Span[] = bound ?? [[0, count]];
  const visits = Math.ceil((needed * (bound ? sizeOf(bound) : count)) / total);
  const density = total / sizeOf(domain);
  const walkCost =
    rest.length === 0
      ? visits
      : Math.min(
          toRunEnd(primary.index, primary.direction, domain, visits),
          // Or walk the next key's order for the first run's matches (see walk).
          (needed * count) / (toRunEnd(primary.index, primary.direction, domain, 1) * density),
        );
  const topKCost = matches.kind === 'bits' ? total + (count >>> 5) : total;
  const picked =
    walkCost <= topKCost
      ? walk(primary.index, primary.direction, domain, inSpans ? undefined : membership(matches), rest, needed, density)
      : smallest(members(matches, indexes.datasetOrder), needed, comparator(keys));
  return picked.slice(skip, needed);
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
