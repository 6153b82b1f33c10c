// Sorted orders of the ticket columns: what `sort` reads its order from, and
// what `where` binary-searches for equality and ranges. One structure serves
// every kind of column: for `status` (five values) the tickets of one value
// are a run of its order, in dataset order, which is its posting list.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Coded, type Column, columnOf, type Dataset } from '../dataset.ts';
import { compareCodePoints } from '../strings.ts';
import type { Comparison } from '../where/conditions.ts';
import { type Ordered, orderedByKey, ranksOf, sortByKey } from './orders.ts';

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

/** The 32-bit keys of a column that has them: equal exactly when values are, ordered as values are. */
function keysOf(column: Column): Uint32Array | undefined {
  const { encoding } = column;
  if (encoding.kind === 'seconds') return encoding.values;
  return encoding.kind === 'coded' ? codedKeys(encoding.coded) : undefined;
}

function build(data: Dataset, column: Column): SortedIndex {
  const { encoding } = column;
  if (encoding.kind === 'hex') return hexIndex(column, encoding.read(), encoding.width, data.count);
  const { order, ranks } = orderedByKey(keysOf(column)!);
  return new SortedIndex(order, ranks, column);
}

/** The fields whose orders are built with the store: those filters and sorts use most. */
const EAGER_FIELDS = ['status', 'customer', 'product', '_created', '_updated'] as const;

/**
 * From this many tickets, `Indexes.build` sorts the date fields on another
 * core, while the app sets up its routes: at a million tickets the sorts take
 * a few hundred milliseconds of the start. Below it a worker's own start-up
 * would cost more than it saves.
 */
export const PARALLEL_FROM = 100_000;

// The worker starts cold (its own start-up, unoptimized code): measured at a
// million tickets, it sorts the two date fields (two counting passes each) in
// about the time the main thread takes to sort the other three and set up the
// app, so neither waits long for the other.
const WORKER_FIELDS: readonly string[] = ['_created', '_updated'];

// The worker's module, spelled as this one is: .ts when run from source (tsx), .js when built.
const WORKER = new URL(`./index-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function orderedInWorker(keys: Uint32Array[]): Promise<Ordered[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: keys });
    worker.once('message', (orders: Ordered[]) => resolve(orders));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the index worker exited with code ${code} before answering`)));
  });
}

/** Every column's sorted order, built on first use (or at once for EAGER_FIELDS). */
export class Indexes {
  /** Dataset order, as an index: what a request without `sort` reads. */
  readonly datasetOrder: SortedIndex;
  readonly #built = new Map<string, SortedIndex>();

  /** @param prebuilt - orders of some fields already built (`Indexes.build`); the other eager ones are built here */
  constructor(
    readonly data: Dataset,
    prebuilt: ReadonlyMap<string, Ordered> = new Map(),
  ) {
    const identity = new Uint32Array(data.count);
    for (let i = 0; i < data.count; i++) identity[i] = i;
    this.datasetOrder = new SortedIndex(identity, identity);
    for (const [field, { order, ranks }] of prebuilt)
      this.#built.set(field, new SortedIndex(order, ranks, columnOf(data, field)));
    for (const field of EAGER_FIELDS) this.of(field);
  }

  /**
   * The same indexes; for a large dataset, the date fields are sorted on
   * another core. The other eager fields are sorted before this returns its
   * promise, so that the caller's own work follows them while the worker sorts.
   */
  static async build(data: Dataset): Promise<Indexes> {
    if (data.count < PARALLEL_FROM) return new Indexes(data);
    const keysFor = (field: string) => keysOf(columnOf(data, field)!)!;
    const there = orderedInWorker(WORKER_FIELDS.map(keysFor));
    const here = EAGER_FIELDS.filter((field) => !WORKER_FIELDS.includes(field)).map(
      (field) => [field, orderedByKey(keysFor(field))] as const,
    );
    const orders = await there;
    return new Indexes(data, new Map([...here, ...WORKER_FIELDS.map((field, i) => [field, orders[i]!] as const)]));
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
