// Answers a filter from the indexes: the tickets it selects, in whichever form
// (ticket-sets.ts) is cheapest to get. A comparison on an indexed field is a
// span of that field's order, found by binary search: its size is known
// before any ticket is touched, and `$and`/`$or`/negations of conditions on
// one field are spans too (a status `$in` is the spans of its values). Across
// fields, `$and` starts from its smallest part and tests the others ticket by
// ticket, and `$or` and negations combine bitmaps.
import { findById, idAt } from '../dataset.ts';
import type { Condition } from '../where/conditions.ts';
import { predicateOf } from '../where/scan.ts';
import type { Indexes, SortedIndex } from './indexes.ts';
import { complement, intersection, normalized, type Span, sizeOf } from './spans.ts';
import { addTo, clearTail, type Matches, members, membership, popcount, type Test, wordsFor } from './ticket-sets.ts';

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
}
