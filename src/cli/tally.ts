// Counts answers per version and turns them into the figures both commands
// print: share, confidence interval, latency, failures.
import { VERSION_NAMES } from '../format.ts';
import { UNKNOWN } from './classify.ts';
import type { Failure, FailureKind, Outcome } from './request.ts';
import { percentile, wilson } from './stats.ts';

export interface VersionRow {
  version: string;
  count: number;
  /** count / answers, 0 to 1. */
  share: number;
  /** Wilson interval of the share at the summary's confidence. */
  low: number;
  high: number;
  non2xx: number;
  p50Ms?: number;
  p99Ms?: number;
}

export interface Summary {
  /** Requests that got an HTTP answer: the n of every share. */
  answers: number;
  confidence: number;
  versions: VersionRow[];
  non2xx: number;
  /** Answers by HTTP status code. */
  statuses: Record<string, number>;
  /** How answers were told apart: by the header, by the casing of names, or not at all. */
  classifiedBy: { header: number; casing: number; none: number };
  errors: { total: number; byKind: Partial<Record<FailureKind, number>>; last?: string };
}

interface Bucket {
  count: number;
  non2xx: number;
  latencies: number[];
}

/** Known versions first in the table's order, then any other a header named, then `unknown`. */
function versionOrder(a: string, b: string): number {
  const rank = (v: string) => {
    const known = (VERSION_NAMES as readonly string[]).indexOf(v);
    return known >= 0 ? known : v === UNKNOWN ? Number.MAX_SAFE_INTEGER : VERSION_NAMES.length;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

export class Tally {
  readonly #versions = new Map<string, Bucket>();
  readonly #by = { header: 0, casing: 0, none: 0 };
  readonly #statuses = new Map<number, number>();
  readonly #errors: Partial<Record<FailureKind, number>> = {};
  #lastError: string | undefined;
  #answers = 0;
  #failures = 0;

  get answers(): number {
    return this.#answers;
  }

  add(outcome: Outcome): void {
    if (outcome.kind === 'error') this.addFailure(outcome);
    else this.addAnswer(outcome.version, outcome.status, outcome.by, outcome.ms);
  }

  addAnswer(version: string, status: number, by: keyof Summary['classifiedBy'], ms?: number): void {
    let bucket = this.#versions.get(version);
    if (!bucket) {
      bucket = { count: 0, non2xx: 0, latencies: [] };
      this.#versions.set(version, bucket);
    }
    bucket.count++;
    if (status < 200 || status > 299) bucket.non2xx++;
    if (ms !== undefined) bucket.latencies.push(ms);
    this.#statuses.set(status, (this.#statuses.get(status) ?? 0) + 1);
    this.#by[by]++;
    this.#answers++;
  }

  addFailure(failure: Pick<Failure, 'error' | 'detail'>): void {
    this.#errors[failure.error] = (this.#errors[failure.error] ?? 0) + 1;
    this.#lastError = failure.detail;
    this.#failures++;
  }

  summary(confidence = 0.95): Summary {
    const names = new Set<string>([...VERSION_NAMES, ...this.#versions.keys()]);
    const versions = [...names].sort(versionOrder).map((version): VersionRow => {
      const bucket = this.#versions.get(version) ?? { count: 0, non2xx: 0, latencies: [] };
      const { low, high } = wilson(bucket.count, this.#answers, confidence);
      const row: VersionRow = {
        version,
        count: bucket.count,
        share: this.#answers === 0 ? 0 : bucket.count / this.#answers,
        low,
        high,
        non2xx: bucket.non2xx,
      };
      if (bucket.latencies.length > 0) {
        const sorted = bucket.latencies.slice().sort((a, b) => a - b);
        row.p50Ms = percentile(sorted, 0.5);
        row.p99Ms = percentile(sorted, 0.99);
      }
      return row;
    });
    const errors: Summary['errors'] = { total: this.#failures, byKind: { ...this.#errors } };
    if (this.#lastError !== undefined) errors.last = this.#lastError;
    return {
      answers: this.#answers,
      confidence,
      versions,
      non2xx: versions.reduce((sum, row) => sum + row.non2xx, 0),
      statuses: Object.fromEntries(this.#statuses),
      classifiedBy: { ...this.#by },
      errors,
    };
  }
}

/** Outcomes of the last `ms` milliseconds: the live view of `split --watch` and of the /ui page. */
export class SlidingWindow {
  readonly #entries: { at: number; outcome: Outcome }[] = [];
  constructor(readonly ms: number) {}

  add(outcome: Outcome, at = performance.now()): void {
    this.#entries.push({ at, outcome });
  }

  summary(confidence: number, now = performance.now()): Summary {
    const first = this.#entries.findIndex((entry) => entry.at > now - this.ms);
    this.#entries.splice(0, first < 0 ? this.#entries.length : first);
    const tally = new Tally();
    for (const entry of this.#entries) tally.add(entry.outcome);
    return tally.summary(confidence);
  }
}
