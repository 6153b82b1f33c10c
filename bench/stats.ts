// Summaries of repeated measurements. Rounds are few (3 to 7), so their middle
// is the midpoint of the two central values, not a nearest rank.
import { percentile } from '../src/cli/stats.ts';

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** p50 and p99 of latency samples (milliseconds, any order). */
export function latencyPercentiles(samples: ArrayLike<number>): {
  p50Ms: number | undefined;
  p99Ms: number | undefined;
} {
  const sorted = Array.from(samples).sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/** a / b, or undefined when either is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}
