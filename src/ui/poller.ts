// Requests one URL of this origin again and again: one request at a time, and
// no more often than the rate allows. Each answer is told apart as `ecadraft
// split` tells it (the version header, else the casing of the names).
import { classify } from '../cli/classify.ts';
import type { Outcome } from '../cli/request.ts';
import { VERSION_HEADER } from '../format.ts';

export interface PollerOptions {
  /** A path of this origin, such as `/tickets`. */
  path: string;
  /** Requests started per second, at most. */
  rate: number;
  timeoutMs: number;
  /** Every settled request, in order. */
  onOutcome: (outcome: Outcome) => void;
  /** Called when polling starts, and when it has stopped with no request left in flight. */
  onChange: () => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One request, measured; a failure becomes an outcome like any answer, never an exception. */
export async function poll(path: string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  const ms = () => performance.now() - started;
  try {
    const response = await fetch(path, {
      // A cached answer would be the version that answered earlier: every poll must reach the server.
      cache: 'no-store',
      // A redirect could lead to another origin; the page measures this one only.
      redirect: 'error',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    const { version, by } = classify({ [VERSION_HEADER]: response.headers.get(VERSION_HEADER) ?? undefined }, body);
    return { kind: 'answer', status: response.status, version, by, ms: ms() };
  } catch (error) {
    if (error instanceof DOMException && error.name === 'TimeoutError')
      return { kind: 'error', error: 'timeout', detail: `no answer within ${timeoutMs} ms`, ms: ms() };
    return { kind: 'error', error: 'connection', detail: `the request failed: ${String(error)}`, ms: ms() };
  }
}

export class Poller {
  #running = false;
  /** Whether the loop is alive: it outlives a pause until its request settles. */
  #looping = false;
  #lastStart = -Infinity;
  /** Bumped by reset: the answer to a request sent before it is not counted. */
  #epoch = 0;

  constructor(readonly options: PollerOptions) {}

  get running(): boolean {
    return this.#running;
  }

  /** Paused with no request in flight. */
  get idle(): boolean {
    return !this.#looping;
  }

  start(): void {
    this.#running = true;
    if (!this.#looping) void this.#loop();
    this.options.onChange();
  }

  /** Stops sending; the request in flight, if any, still settles and counts. */
  pause(): void {
    this.#running = false;
  }

  /** Forgets the request in flight: its answer belongs to the measurement being discarded. */
  reset(): void {
    this.#epoch++;
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#running) {
        // Spacing starts, not ends, bounds the rate whatever the latency; a resume waits too.
        const wait = this.#lastStart + 1000 / this.options.rate - performance.now();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        this.#lastStart = performance.now();
        const epoch = this.#epoch;
        const outcome = await poll(this.options.path, this.options.timeoutMs);
        if (epoch === this.#epoch) this.options.onOutcome(outcome);
      }
    } finally {
      this.#looping = false;
      this.options.onChange();
    }
  }
}
