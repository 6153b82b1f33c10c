// `ecadraft split <url>`: measure which version answers, and how sure we are.

import { EXIT } from './errors.ts';
import { type Check, checkExpect, describeCheck, type Expectation } from './expect.ts';
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
  confidence: number;
  json: boolean;
  /** --watch: the sliding window of the live view. */
  windowSeconds: number;
}

export interface SplitReport extends Summary {
  url: string;
  requests: number;
  expect?: { ok: boolean; checks: Check[] };
}

/**
 * Prints the report; the exit code says whether the expectation held.
 * `jsonIndent` 0 keeps --watch --json one object per line.
 */
export function report(options: SplitOptions, summary: Summary, requests: number, jsonIndent = 2): number {
  const checks = options.expect && checkExpect(summary, options.expect);
  const failed = checks?.filter((check) => !check.ok) ?? [];
  if (options.json) {
    const body: SplitReport = { url: options.url.href, requests, ...summary };
    if (checks) body.expect = { ok: failed.length === 0, checks };
    process.stdout.write(`${JSON.stringify(body, null, jsonIndent)}\n`);
  } else {
    const lines = renderSummary(summary);
    if (checks) {
      const wanted = [...options.expect!].map(([version, share]) => `${version}=${share}%`).join(', ');
      lines.push(`expect ${wanted}: ${failed.length === 0 ? 'ok' : 'FAILED'}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  for (const check of failed) process.stderr.write(`ecadraft: ${describeCheck(check, summary)}\n`);
  return failed.length === 0 ? EXIT.ok : EXIT.expectationFailed;
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
  if (!options.json) process.stdout.write(`split of ${url.href}: ${requests} requests, concurrency ${concurrency}\n`);
  return report(options, tally.summary(options.confidence), requests);
}
