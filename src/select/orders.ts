// Sorted orders of 32-bit keys, and ranks read off them: plain arithmetic on
// typed arrays, with no knowledge of tickets, so that a worker thread can build
// them (index-worker.ts) without loading the dataset's modules.
const RADIX = 1 << 16;

/**
 * Ticket indexes ordered by a 32-bit key, ties in dataset order: two stable
 * counting passes of 16 bits, linear in the count where a comparison sort of
 * a million tickets takes a second.
 */
export function sortByKey(keys: Uint32Array): Uint32Array<ArrayBuffer> {
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

/** Ranks from an order and keys that are equal exactly when values are. */
export function ranksOf(order: Uint32Array, keys: Uint32Array): Uint32Array<ArrayBuffer> {
  const ranks = new Uint32Array(order.length);
  for (let p = 1; p < order.length; p++) {
    const previous = order[p - 1]!;
    ranks[order[p]!] = keys[order[p]!] === keys[previous] ? ranks[previous]! : p;
  }
  return ranks;
}

/** An order and its ranks: what a field's index holds besides how to read a value. */
export interface Ordered {
  order: Uint32Array<ArrayBuffer>;
  ranks: Uint32Array<ArrayBuffer>;
}

export function orderedByKey(keys: Uint32Array): Ordered {
  const order = sortByKey(keys);
  return { order, ranks: ranksOf(order, keys) };
}
