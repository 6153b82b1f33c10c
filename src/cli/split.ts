// `ecadraft split <url>`: measure which version answers, and how sure we are.

import { VERSION_HEADER } from '../versions.ts';
import { CliError, EXIT } from './errors.ts';
import { type Check, checkExpect, describeCheck, type Expectation } from './expect.ts';
import { checkErrors, describeErrors, describeLimit, type ErrorsCheck, type MaxErrors } from './max-errors.ts';
import { renderSummary } from './render.ts';
import { Client } from './request.ts';
import { sample } from './sampler.ts';
import { type Summary, Tally } from './tally.ts';

export interface SplitOptions {
  url: URL;
  requests: number;
  concurrency: number;
  timeoutMs: number;
  rate?: number;
  expect?: Expectation;
  /** The failed requests a run tolerates; undefined: it fails only when every request failed. */
  maxErrors?: MaxErrors;
  confidence: number;
  json: boolean;
  /** --watch: the sliding window of the live view. */
  windowSeconds: number;
}

export interface SplitReport extends Summary {
  url: string;
  requests: number;
  expect?: { ok: boolean; checks: Check[] };
  maxErrors: ErrorsCheck;
}

/** Whether no answer could be told apart: neither a version header nor customer names of one version. */
function nothingClassified(summary: Summary): boolean {
  return summary.answers > 0 && summary.classifiedBy.none === summary.answers;
}

function unclassifiedMessage(summary: Summary, url: URL): string {
  return (
    `no answer from ${url.href} tells its version: ${summary.answers} answers without an ${VERSION_HEADER} ` +
    `header or customer names of a single version; is it an ecadraft service? (point split at its /tickets)`
  );
}

/**
 * A run that measured nothing is a usage error (exit 2, one line), reported
 * instead of a table: every answer came back, but none told its version. A
 * gate (--expect) reports it as its own failure instead, and a run in which
 * every request failed is reported as that.
 */
export function assertMeasured(options: SplitOptions, summary: Summary): void {
  if (options.expect || !nothingClassified(summary) || !checkErrors(summary, options.maxErrors).ok) return;
  throw new CliError(unclassifiedMessage(summary, options.url));
}

/**
 * Prints the report; the exit code says whether the checks held: the
 * expected split, and the failed requests against --max-errors.
 * `jsonIndent` 0 keeps --watch --json one object per line.
 */
export function report(options: SplitOptions, summary: Summary, requests: number, jsonIndent = 2): number {
  const checks = options.expect && checkExpect(summary, options.expect);
  const failed = checks?.filter((check) => !check.ok) ?? [];
  const errors = checkErrors(summary, options.maxErrors);
  if (options.json) {
    const body: SplitReport = { url: options.url.href, requests, ...summary, maxErrors: errors };
    if (checks) body.expect = { ok: failed.length === 0, checks };
    process.stdout.write(`${JSON.stringify(body, null, jsonIndent)}\n`);
  } else {
    const lines = renderSummary(summary);
    if (checks) {
      const wanted = [...options.expect!].map(([version, share]) => `${version}=${share}%`).join(', ');
      lines.push(`expect ${wanted}: ${failed.length === 0 ? 'ok' : 'FAILED'}`);
    }
    if (options.maxErrors) {
      lines.push(
        `max errors ${describeLimit(options.maxErrors)}: ${errors.failed} of ${errors.requests} failed, ${errors.ok ? 'ok' : 'FAILED'}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  for (const check of failed) process.stderr.write(`ecadraft: ${describeCheck(check, summary)}\n`);
  if (checks && nothingClassified(summary)) {
    process.stderr.write(`ecadraft: ${unclassifiedMessage(summary, options.url)}\n`);
  }
  if (!errors.ok) process.stderr.write(`ecadraft: ${describeErrors(errors, summary, options.maxErrors)}\n`);
  return failed.length === 0 && errors.ok ? EXIT.ok : EXIT.expectationFailed;
}

export async function split(options: SplitOptions): Promise<number> {
  const { url, requests, concurrency, timeoutMs, rate } = options;
  const client = new Client(url, { timeoutMs, maxSockets: concurrency });
  const tally = new Tally();
  try {
    await sample({ client, count: requests, concurrency, rate, onOutcome: (outcome) => tally.add(outcome) });
  } finally {
    client.close();
  }
  const summary = tally.summary(options.confidence);
  assertMeasured(options, summary);
  if (!options.json) process.stdout.write(`split of ${url.href}: ${requests} requests, concurrency ${concurrency}\n`);
  return report(options, summary, requests);
}
