// `ecadraft split --watch <url>`: the split over the last few seconds, redrawn
// every second, so a user sees traffic move while applying the next
// VirtualService.
import { performance } from 'node:perf_hooks';
import { onStopSignal } from './errors.ts';
import { bar, interval, percent, table } from './render.ts';
import { Client } from './request.ts';
import { sample } from './sampler.ts';
import { assertMeasured, report, type SplitOptions } from './split.ts';
import { SlidingWindow, type Summary, Tally } from './tally.ts';

/** Fast enough for a tight interval over a 10 s window, light enough to leave running against a shared mesh. */
export const DEFAULT_WATCH_RATE = 50;

/** Redraws in place on a terminal; appends plain lines anywhere else (a CI log, a pipe). */
class LiveView {
  #drawn = 0;
  constructor(readonly stream: NodeJS.WriteStream) {}

  get redraws(): boolean {
    return this.stream.isTTY === true;
  }

  start(): void {
    if (!this.redraws) return;
    this.stream.write('\x1b[?25l');
    // A second Ctrl-C exits without unwinding; the terminal must not keep a hidden cursor.
    process.once('exit', this.end);
  }

  draw(lines: readonly string[]): void {
    // Back to the first line of the previous frame, then clear to the end of the screen.
    const rewind = this.redraws && this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : '';
    this.stream.write(`${rewind}${lines.join('\n')}\n`);
    if (this.redraws) this.#drawn = lines.length;
  }

  readonly end = (): void => {
    if (!this.redraws) return;
    this.stream.write('\x1b[?25h');
    process.off('exit', this.end);
  };
}

const clock = () => new Date().toTimeString().slice(0, 8);

function frame(options: SplitOptions, window: Summary, elapsedSeconds: number, columns: number): string[] {
  const width = Math.max(10, Math.min(40, columns - 45));
  const rows = window.versions.map((row) => [
    row.version,
    bar(row.share, width),
    percent(row.share),
    interval(row),
    String(row.count),
  ]);
  return [
    `${options.url.href}: last ${options.windowSeconds} s at ${clock()}, ${Math.round(elapsedSeconds)} s in (Ctrl-C to stop)`,
    ...table(rows, ['left', 'left', 'right', 'left', 'right']),
    `${window.answers} answers, non-2xx ${window.non2xx}, errors ${window.errors.total}${window.errors.last ? ` (last: ${window.errors.last})` : ''}`,
  ];
}

function line(window: Summary): string {
  const shares = window.versions.map((row) => `${row.version} ${percent(row.share)}`).join('  ');
  return `${clock()}  n=${window.answers}  ${shares}  non-2xx ${window.non2xx}  errors ${window.errors.total}`;
}

export async function watch(options: SplitOptions): Promise<number> {
  const { url, concurrency, timeoutMs, confidence } = options;
  const client = new Client(url, { timeoutMs, maxSockets: concurrency });
  const total = new Tally();
  const recent = new SlidingWindow(options.windowSeconds * 1000);
  const view = new LiveView(process.stdout);
  const stop = new AbortController();
  const removeSignalHandlers = onStopSignal(() => stop.abort());
  const started = performance.now();
  let sent = 0;
  const tick = setInterval(() => {
    const window = recent.summary(confidence);
    if (options.json)
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), windowSeconds: options.windowSeconds, ...window })}\n`,
      );
    else if (view.redraws)
      view.draw(frame(options, window, (performance.now() - started) / 1000, process.stdout.columns || 80));
    else view.draw([line(window)]);
  }, 1000);
  if (!options.json) view.start();
  try {
    await sample({
      client,
      count: Infinity,
      concurrency,
      rate: options.rate ?? DEFAULT_WATCH_RATE,
      signal: stop.signal,
      onOutcome: (outcome) => {
        sent++;
        total.add(outcome);
        recent.add(outcome);
      },
    });
  } finally {
    clearInterval(tick);
    client.close();
    removeSignalHandlers();
    if (!options.json) view.end();
  }
  const summary = total.summary(confidence);
  assertMeasured(options, summary);
  const seconds = Math.round((performance.now() - started) / 1000);
  if (!options.json) process.stdout.write(`\nstopped after ${seconds} s; the whole run:\n`);
  return report(options, summary, sent, 0);
}
