// `--expect v1=90,v2=10`: the split a VirtualService asks for, checked
// against what was measured, so a pipeline can gate a rollout step on it.
import { VERSION_NAMES } from '../versions.ts';
import { CliError } from './errors.ts';
import { confidenceLabel, interval, percent } from './render.ts';
import type { Summary } from './tally.ts';

/** Expected share per version, in percent. */
export type Expectation = Map<string, number>;

export function parseExpect(text: string): Expectation {
  const expected: Expectation = new Map();
  const usage = 'expected version=percent pairs that add up to 100, e.g. v1=90,v2=10';
  for (const part of text.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(part);
    if (!match) throw new CliError(`invalid --expect ${JSON.stringify(text)}: ${usage}`);
    const [, version = '', percent = ''] = match;
    if (!(VERSION_NAMES as readonly string[]).includes(version)) {
      throw new CliError(
        `invalid --expect ${JSON.stringify(text)}: unknown version "${version}", expected one of ${VERSION_NAMES.join(', ')}`,
      );
    }
    if (expected.has(version))
      throw new CliError(`invalid --expect ${JSON.stringify(text)}: ${version} is given twice`);
    const value = Number(percent);
    if (value > 100)
      throw new CliError(`invalid --expect ${JSON.stringify(text)}: ${version}=${percent} is more than 100%`);
    expected.set(version, value);
  }
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  if (Math.abs(total - 100) > 1e-9)
    throw new CliError(`invalid --expect ${JSON.stringify(text)}: the shares add up to ${total}, not 100`);
  return expected;
}

/** Shares as fractions (0 to 1), like the rest of the summary. */
export interface Check {
  version: string;
  /** 0 for a version that answered without being named. */
  expected: number;
  measured: number;
  low: number;
  high: number;
  ok: boolean;
  /** measured - expected. */
  offBy: number;
}

// Rounding must not turn a measured 100% (interval [x, 1]) into a failure of v1=100.
const EPSILON = 1e-9;

/**
 * Every named version, and every version that answered without being named
 * (expected 0%: `--expect v1=100` must fail when v2 or `unknown` answers).
 */
export function checkExpect(summary: Summary, expected: Expectation): Check[] {
  return summary.versions
    .filter((row) => expected.has(row.version) || row.count > 0)
    .map((row) => {
      const want = (expected.get(row.version) ?? 0) / 100;
      return {
        version: row.version,
        expected: want,
        measured: row.share,
        low: row.low,
        high: row.high,
        ok: want >= row.low - EPSILON && want <= row.high + EPSILON,
        offBy: row.share - want,
      };
    });
}

/** `v2 is off by +38.5 points: measured 48.5% (95% CI [41.6%, 55.4%], n=200), expected 10%` */
export function describeCheck(check: Check, summary: Pick<Summary, 'confidence' | 'answers'>): string {
  const points = `${check.offBy >= 0 ? '+' : '-'}${Math.abs(check.offBy * 100).toFixed(1)}`;
  return (
    `${check.version} is off by ${points} points: measured ${percent(check.measured)} ` +
    `(${confidenceLabel(summary.confidence)} CI ${interval(check)}, n=${summary.answers}), expected ${percent(check.expected)}`
  );
}
