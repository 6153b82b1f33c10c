// Sets of tickets as the planner finds them: all of them, spans of one sorted
// order, or a bitmap; and what every form answers alike (its members, whether
// a ticket belongs, its union into a bitmap).
import type { SortedIndex } from './indexes.ts';
import type { Span } from './spans.ts';

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

export type Test = (index: number) => boolean;

export const wordsFor = (count: number) => new Uint32Array((count + 31) >>> 5);

export function popcount(words: Uint32Array): number {
  let total = 0;
  for (let w = 0; w < words.length; w++) {
    let v = words[w]! | 0;
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    total += Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return total;
}

export function clearTail(words: Uint32Array, count: number): void {
  if (count & 31) words[words.length - 1]! &= (1 << (count & 31)) - 1;
}

/** The members of a set, in ascending ticket order except for spans of a sorted order. */
export function members(matches: Matches, datasetOrder: SortedIndex): ArrayLike<number> {
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

export function membership(matches: Matches): Test {
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
export function addTo(words: Uint32Array, matches: Matches, count: number): void {
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
