// Sends requests with bounded concurrency and an optional pace, handing each
// outcome to the caller. Shared by `split` (a fixed count) and `split --watch`
// (until stopped).

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './errors.ts';
import { type Client, describeFailure, type Failure, type Outcome } from './request.ts';

export interface SampleOptions {
  client: Client;
  /** Requests to send; Infinity to run until `signal` aborts. */
  count: number;
  concurrency: number;
  /** Requests started per second at most; undefined for as fast as answers come. */
  rate?: number;
  signal?: AbortSignal;
  onOutcome: (outcome: Outcome) => void;
}

/**
 * Resolves once `count` requests have an outcome, or soon after `signal`
 * aborts (requests in flight are abandoned, not counted).
 *
 * Until the first answer, any failure ends the run with a CliError: a wrong
 * URL or a target that is down should say so at once, not after N timeouts.
 * After that, failures are data (a pod restarting during a rollout) and are
 * passed on like answers.
 */
export async function sample(options: SampleOptions): Promise<void> {
  const { client, count, concurrency, rate, onOutcome } = options;
  const stop = new AbortController();
  const stopOnAbort = () => stop.abort();
  options.signal?.addEventListener('abort', stopOnAbort, { once: true });
  const start = performance.now();
  let next = 0;
  let answered = false;
  let fatal: Failure | undefined;

  const worker = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      const index = next++;
      if (index >= count) return;
      if (rate !== undefined) {
        const wait = start + (index * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
        if (stop.signal.aborted) return;
      }
      let outcome: Outcome;
      try {
        outcome = await client.get(stop.signal);
      } catch (error) {
        if (stop.signal.aborted) return;
        throw error;
      }
      if (outcome.kind === 'error' && !answered) {
        fatal ??= outcome;
        stop.abort();
        return;
      }
      answered ||= outcome.kind === 'answer';
      onOutcome(outcome);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', stopOnAbort);
  }
  if (fatal) throw new CliError(describeFailure(fatal, client.url));
}
