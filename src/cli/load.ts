// `ecadraft load <url>`: autocannon drives the load; we count which version
// answered each request, second by second, to show when traffic moved and
// whether anything failed while it did.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { classify } from './classify.ts';
import { CliError, EXIT, onStopSignal } from './errors.ts';
import { GLYPHS, percent, renderSummary, stackedBar, table } from './render.ts';
import { Client, describeFailure, failureOf, timeoutFailure } from './request.ts';
import { type Summary, Tally } from './tally.ts';

export interface LoadOptions {
  url: URL;
  durationSeconds: number;
  connections: number;
  /** Requests per second over all connections; undefined for as fast as possible. */
  rate?: number;
  timeoutMs: number;
  json: boolean;
}

export interface Second {
  /** 1 for the first second of the run. */
  second: number;
  answers: number;
  versions: Record<string, number>;
  non2xx: number;
  errors: number;
}

/** The interval shown per version; a load run is not a gate, so it needs no knob. */
const CONFIDENCE = 0.95;

// autocannon reports its own timeouts as this plain Error.
const AUTOCANNON_TIMEOUT = 'request timed out';

function timeline(seconds: readonly Tally[], confidence: number): Second[] {
  return seconds.map((tally, i) => {
    const summary = tally.summary(confidence);
    return {
      second: i + 1,
      answers: summary.answers,
      versions: Object.fromEntries(summary.versions.map((row) => [row.version, row.count])),
      non2xx: summary.non2xx,
      errors: summary.errors.total,
    };
  });
}

function renderTimeline(rows: readonly Second[], versions: readonly string[]): string[] {
  const legend = versions.map((v, i) => `${GLYPHS[i % GLYPHS.length]} ${v}`).join('  ');
  const body = rows.map((row) => {
    const shares = versions.map((v) => (row.answers === 0 ? 0 : (row.versions[v] ?? 0) / row.answers));
    return [
      `${row.second}s`,
      String(row.answers),
      stackedBar(shares, 30),
      ...shares.map(percent),
      String(row.non2xx),
      String(row.errors),
    ];
  });
  const header = ['second', 'answers', 'share', ...versions, 'non-2xx', 'errors'];
  const align = ['right', 'right', 'left', ...versions.map(() => 'right' as const), 'right', 'right'] as const;
  return [`share per second (${legend}):`, ...table([header, ...body], align)];
}

/** Fails fast, with the same one-line errors as `split`, when the target is not an ecadraft service answering. */
async function preflight(url: URL, timeoutMs: number): Promise<void> {
  const client = new Client(url, { timeoutMs, maxSockets: 1 });
  try {
    const outcome = await client.get();
    if (outcome.kind === 'error') throw new CliError(describeFailure(outcome, url));
  } finally {
    client.close();
  }
}

export async function load(options: LoadOptions): Promise<number> {
  const { url, durationSeconds, connections, rate, timeoutMs } = options;
  await preflight(url, timeoutMs);

  const total = new Tally();
  const seconds: Tally[] = [];
  const start = performance.now();
  // autocannon stops on its next 1 s sample after the deadline, so a few
  // answers land just past it; they belong to the last full second.
  const lastSecond = Math.max(1, Math.ceil(durationSeconds)) - 1;
  const secondOf = () =>
    (seconds[Math.min(lastSecond, Math.floor((performance.now() - start) / 1000))] ??= new Tally());

  const recordAnswer = (
    status: number,
    body: string,
    _context: object,
    headers: Record<string, string | string[] | undefined> = {},
  ) => {
    const { version, by } = classify(headers, body);
    total.addAnswer(version, status, by);
    secondOf().addAnswer(version, status, by);
  };
  const recordError = (error: Error) => {
    const failure = error.message === AUTOCANNON_TIMEOUT ? timeoutFailure(timeoutMs, timeoutMs) : failureOf(error, 0);
    total.addFailure(failure);
    secondOf().addFailure(failure);
  };

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: url.href,
        duration: durationSeconds,
        connections,
        ...(rate === undefined ? {} : { overallRate: rate }),
        timeout: timeoutMs / 1000,
        requests: [{ method: 'GET', onResponse: recordAnswer }],
      },
      (error, results) => (error ? reject(new CliError(`autocannon: ${error.message}`)) : resolve(results)),
    );
    instance.on('reqError', recordError);
    instance.on(
      'done',
      onStopSignal(() => instance.stop()),
    );
    if (process.stderr.isTTY) autocannon.track(instance, { outputStream: process.stderr, renderResultsTable: false });
  });

  const summary: Summary = total.summary(CONFIDENCE);
  const rows = timeline(
    Array.from(seconds, (tally) => tally ?? new Tally()),
    CONFIDENCE,
  );
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ url: url.href, autocannon: result, ...summary, timeline: rows }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  const versions = summary.versions.map((row) => row.version);
  process.stdout.write(
    `${[
      `load on ${url.href}: ${durationSeconds} s, ${connections} connections${rate === undefined ? '' : `, ${rate} req/s`}`,
      autocannon.printResult(result, { outputStream: process.stdout }).trimEnd(),
      '',
      ...renderSummary(summary),
      '',
      ...renderTimeline(rows, versions),
    ].join('\n')}\n`,
  );
  return EXIT.ok;
}
