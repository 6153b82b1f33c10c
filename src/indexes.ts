// Sorted orders of the ticket columns: what `sort` reads its order from, and
// what `where` binary-searches for equality and ranges. One structure serves
// every kind of column: for `status` (five values) the tickets of one value
// are a run of its order, in dataset order, which is its posting list.
import { type Coded, type Column, columnOf, type Dataset } from './dataset.ts';
import { compareCodePoints } from './strings.ts';
import type { Comparison } from './where.ts';

const RADIX = 1 << 16;

/**
 * Ticket indexes ordered by a 32-bit key, ties in dataset order: two stable
 * counting passes of 16 bits, linear in the count where a comparison sort of
 * a million tickets takes a second.
 */
function sortByKey(keys: Uint32Array): Uint32Array {
  const n = keys.length;
  // Below a few thousand tickets the passes' 65,536 buckets would cost more than the tickets.
  if (n < 4096) return Uint32Array.from(keys.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  let max = 0;
  for (let i = 0; i < n; i++) if (keys[i]! > max) max = keys[i]!;
  const counts = new Uint32Array(RADIX + 1);
  const low = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[(keys[i]! & 0xffff) + 1]!++;
  for (let b = 1; b <= RADIX; b++) counts[b]! += counts[b - 1]!;
  for (let i = 0; i < n; i++) low[counts[keys[i]! & 0xffff]!++] = i;
  if (max < RADIX) return low;
  const order = new Uint32Array(n);
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[(keys[i]! >>> 16) + 1]!++;
  for (let b = 1; b <= RADIX; b++) counts[b]! += counts[b - 1]!;
  for (let p = 0; p < n; p++) {
    const i = low[p]!;
    order[counts[keys[i]! >>> 16]!++] = i;
  }
  return order;
}

/** Each ticket's value as its place among the list's values (equal values, equal places). */
function codedKeys({ codes, values }: Coded): Uint32Array {
  const byValue = values.map((_, code) => code).sort((a, b) => compareCodePoints(values[a]!, values[b]!));
  const place = new Uint32Array(values.length);
  byValue.forEach((code, k) => {
    place[code] = k > 0 && values[byValue[k - 1]!] === values[code] ? place[byValue[k - 1]!]! : k;
  });
  const keys = new Uint32Array(codes.length);
  for (let i = 0; i < codes.length; i++) keys[i] = place[codes[i]!]!;
  return keys;
}

export class SortedIndex {
  /**
   * @param order - ticket indexes ordered by the field's value, ties in dataset order
   * @param ranks - each ticket's rank: the position in `order` of the first
   *   ticket with an equal value, so equal values share a rank and a run of
   *   `order` is the tickets whose rank lies in it
   * @param column - how to read a value, for binary searches; none for dataset order
   */
  constructor(
    readonly order: Uint32Array,
    readonly ranks: Uint32Array,
    readonly column?: Column,
  ) {}

  get count(): number {
    return this.order.length;
  }

  /** Positions [lo, hi) of `order` whose values pass `value <test> operand`. */
  span(test: Comparison, operand: string | number): [number, number] {
    const n = this.order.length;
    switch (test) {
      case 'eq':
        return [this.#bound(operand, false), this.#bound(operand, true)];
      case 'gt':
        return [this.#bound(operand, true), n];
      case 'gte':
        return [this.#bound(operand, false), n];
      case 'lt':
        return [0, this.#bound(operand, false)];
      case 'lte':
        return [0, this.#bound(operand, true)];
    }
  }

  /** The first position whose value is above the operand (`after`), or not below it. */
  #bound(operand: string | number, after: boolean): number {
    const { order } = this;
    const get = this.column!.get;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const value = get(order[mid]!);
      const c = typeof value === 'number' ? value - (operand as number) : compareCodePoints(value, operand as string);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Ranks from an order and keys that are equal exactly when values are. */
function ranksOf(order: Uint32Array, keys: Uint32Array): Uint32Array {
  const ranks = new Uint32Array(order.length);
  for (let p = 1; p < order.length; p++) {
    const previous = order[p - 1]!;
    ranks[order[p]!] = keys[order[p]!] === keys[previous] ? ranks[previous]! : p;
  }
  return ranks;
}

/**
 * Hex columns sort by their first four bytes, which decide almost every
 * comparison (ids are random, ETags are hashes); runs that tie on them are
 * ordered by the whole value afterwards, and only they can share a rank.
 */
function hexIndex(column: Column, buffer: Buffer, width: number, count: number): SortedIndex {
  const keys = new Uint32Array(count);
  for (let i = 0; i < count; i++) keys[i] = buffer.readUInt32BE(i * width);
  const order = sortByKey(keys);
  // Buffer#compare(target, targetStart, targetEnd, sourceStart, sourceEnd) compares the source, a, with the target, b.
  const compare = (a: number, b: number) =>
    buffer.compare(buffer, b * width, b * width + width, a * width, a * width + width);
  const ranks = ranksOf(order, keys);
  for (let p = 0; p < count; ) {
    let end = p + 1;
    while (end < count && keys[order[end]!] === keys[order[p]!]) end++;
    if (end - p > 1) {
      order.set(
        order.slice(p, end).sort((a, b) => compare(a, b) || a - b),
        p,
      );
      for (let q = p; q < end; q++)
        ranks[order[q]!] = q > p && compare(order[q - 1]!, order[q]!) === 0 ? ranks[order[q - 1]!]! : q;
    }
    p = end;
  }
  return new SortedIndex(order, ranks, column);
}

function build(data: Dataset, column: Column): SortedIndex {
  const { encoding } = column;
  if (encoding.kind === 'hex') return hexIndex(column, encoding.read(), encoding.width, data.count);
  const keys = encoding.kind === 'seconds' ? encoding.values : codedKeys(encoding.coded);
  const order = sortByKey(keys);
  return new SortedIndex(order, ranksOf(order, keys), column);
}

/** The fields whose orders are built with the store: those filters and sorts use most. */
const EAGER_FIELDS = ['status', 'customer', 'product', '_created', '_updated'] as const;

/** Every column's sorted order, built on first use (or at once for EAGER_FIELDS). */
export class Indexes {
  /** Dataset order, as an index: what a request without `sort` reads. */
  readonly datasetOrder: SortedIndex;
  readonly #built = new Map<string, SortedIndex>();

  constructor(readonly data: Dataset) {
    const identity = new Uint32Array(data.count);
    for (let i = 0; i < data.count; i++) identity[i] = i;
    this.datasetOrder = new SortedIndex(identity, identity);
    for (const field of EAGER_FIELDS) this.of(field);
  }

  /** The field's index; undefined for a field tickets lack. */
  of(field: string): SortedIndex | undefined {
    let index = this.#built.get(field);
    if (index) return index;
    const column = columnOf(this.data, field);
    if (!column) return undefined;
    index = build(this.data, column);
    this.#built.set(field, index);
    return index;
  }

  /** Whether the field's index exists without building it. */
  has(field: string): boolean {
    return this.#built.has(field);
  }
}
