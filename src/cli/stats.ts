// Statistics for a measured traffic split: how sure can we be of a share
// measured on n requests, and how slow were they.

/**
 * The inverse of the standard normal CDF (Acklam's rational approximation,
 * relative error below 1.2e-9), so any confidence level maps to its z.
 */
// Acklam's coefficients; the *_DEN arrays end with the implicit leading 1.
const CENTRAL_NUM = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const CENTRAL_DEN = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1, 1,
];
const TAIL_NUM = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const TAIL_DEN = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416, 1];
const TAIL = 0.02425;

const polynomial = (coefficients: readonly number[], x: number): number =>
  coefficients.reduce((sum, k) => sum * x + k, 0);

export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  if (p > 1 - TAIL) return -normalQuantile(1 - p);
  if (p < TAIL) {
    const q = Math.sqrt(-2 * Math.log(p));
    return polynomial(TAIL_NUM, q) / polynomial(TAIL_DEN, q);
  }
  const q = p - 0.5;
  const r = q * q;
  return (polynomial(CENTRAL_NUM, r) * q) / polynomial(CENTRAL_DEN, r);
}

/** z for a two-sided interval at this confidence (0.95 gives 1.96). */
export function zFor(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return normalQuantile(1 - (1 - confidence) / 2);
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval for a proportion. Unlike the textbook p ± z·se it
 * stays inside [0, 1] and is not degenerate at 0% or 100%, which are exactly
 * the shares a canary starts and ends with.
 */
export function wilson(successes: number, n: number, confidence = 0.95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const z = zFor(confidence);
  const z2 = z * z;
  const p = successes / n;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0 and n the bound is exactly 0 or 1 in theory; floating point can miss it by an ulp.
  return {
    low: successes === 0 ? 0 : Math.max(0, center - half),
    high: successes === n ? 1 : Math.min(1, center + half),
  };
}

/** Nearest-rank percentile (q in [0, 1]) of values sorted ascending; undefined when empty. */
export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
