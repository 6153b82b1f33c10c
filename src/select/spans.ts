// Spans: runs [lo, hi) of positions in one index's sorted order. Runs start
// and end where values change (binary searches find them), so unions,
// intersections and complements of spans are spans again, and a ticket lies
// in a span exactly when its rank does.
/** Positions [lo, hi) of an index's order: the tickets whose values lie in a range. */
export type Span = readonly [lo: number, hi: number];

export function normalized(spans: readonly Span[]): Span[] {
  const sorted = spans.filter(([lo, hi]) => lo < hi).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function intersection(a: readonly Span[], b: readonly Span[]): Span[] {
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

export function complement(spans: readonly Span[], count: number): Span[] {
  const out: Span[] = [];
  let from = 0;
  for (const [lo, hi] of spans) {
    if (from < lo) out.push([from, lo]);
    from = hi;
  }
  if (from < count) out.push([from, count]);
  return out;
}

export const sizeOf = (spans: readonly Span[]) => spans.reduce((sum, [lo, hi]) => sum + hi - lo, 0);
