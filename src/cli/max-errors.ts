// `--max-errors 5` or `--max-errors 1%`: how many failed requests a run
// tolerates, so a pipeline step fails when the canary answers errors, however
// well its share matches.
import { CliError } from './errors.ts';
import type { Summary } from './tally.ts';

/** A number of requests, or a percentage of those sent; `implied` when --expect set it, not the user. */
export type MaxErrors = ({ count: number } | { percent: number }) & { implied?: boolean };

/** A gate does not pass a canary that fails requests, unless told how many it may fail. */
export const EXPECT_DEFAULT: MaxErrors = { count: 0, implied: true };

export function parseMaxErrors(text: string): MaxErrors {
  const count = /^\s*(\d+)\s*$/.exec(text);
  if (count) return { count: Number(count[1]) };
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (percent && Number(percent[1]) <= 100) return { percent: Number(percent[1]) };
  throw new CliError(
    `invalid --max-errors ${JSON.stringify(text)}: expected a number of requests (e.g. 5) or a percentage of them (e.g. 1%)`,
  );
}

export interface ErrorsCheck {
  /** Requests sent that got an answer or failed. */
  requests: number;
  /** Non-2xx answers plus requests without an answer (timeouts, connection errors). */
  failed: number;
  /** The most failures the run accepts. */
  allowed: number;
  ok: boolean;
}

/** Failed requests against the limit; without a limit, only a run in which every request failed fails. */
export function checkErrors(summary: Summary, limit: MaxErrors | undefined): ErrorsCheck {
  const requests = summary.answers + summary.errors.total;
  const failed = summary.non2xx + summary.errors.total;
  const allowed =
    limit === undefined
      ? Math.max(0, requests - 1)
      : 'count' in limit
        ? limit.count
        : Math.floor((requests * limit.percent) / 100 + 1e-9);
  return { requests, failed, allowed, ok: failed <= allowed };
}

export const describeLimit = (limit: MaxErrors): string =>
  `${'count' in limit ? limit.count : `${limit.percent}%`}${limit.implied ? ' (the default with --expect)' : ''}`;

/** Which statuses the non-2xx answers had: `503 ×180, 500 ×20`. */
function statusList(summary: Summary): string {
  return Object.entries(summary.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .sort(([, a], [, b]) => b - a)
    .map(([status, n]) => `${status} ×${n}`)
    .join(', ');
}

/** One line: `12 of 200 requests failed (non-2xx 10: 500 ×10; errors 2), more than --max-errors 5 allows` */
export function describeErrors(check: ErrorsCheck, summary: Summary, limit: MaxErrors | undefined): string {
  const statuses = statusList(summary);
  const detail = `non-2xx ${summary.non2xx}${statuses ? `: ${statuses}` : ''}; errors ${summary.errors.total}`;
  if (limit === undefined)
    return `every one of the ${check.requests} requests failed (${detail}); is the service healthy?`;
  return `${check.failed} of ${check.requests} requests failed (${detail}), more than --max-errors ${describeLimit(limit)} allows`;
}
