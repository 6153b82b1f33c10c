// Text for people: aligned tables and bars. Nothing here measures anything.
import type { Summary } from './tally.ts';

/**
 * 0.4853 → `48.5%`; all and nothing read as `100%` and `0%`, the shares a
 * rollout starts and ends with, and only they do: a share that one decimal
 * would round to them reads `>99.9%` or `<0.1%`, never `100.0%` beside `100%`.
 */
export function percent(fraction: number): string {
  if (fraction === 0 || fraction === 1) return `${fraction * 100}%`;
  const shown = (fraction * 100).toFixed(1);
  if (shown === '100.0') return '>99.9%';
  if (shown === '0.0') return '<0.1%';
  return `${shown}%`;
}

export const interval = (range: { low: number; high: number }): string =>
  `[${percent(range.low)}, ${percent(range.high)}]`;

/** 0.95 → `95%`, 0.999 → `99.9%`. */
export const confidenceLabel = (confidence: number): string => `${Number((confidence * 100).toFixed(3))}%`;

export function milliseconds(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

export type Align = 'left' | 'right';

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[], align: readonly Align[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...cell].length);
        return align[i] === 'right' ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `width` cells filled to `fraction`, in eighths of a cell, on a light track. */
export function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = EIGHTHS[eighths % 8] ?? '';
  return '█'.repeat(full) + partial + '░'.repeat(width - full - (partial ? 1 : 0));
}

/** Glyphs for the versions of a stacked bar, in the order of the summary's rows. */
export const GLYPHS = ['█', '▒', '▓', '░', '#', '=', '+'];

/**
 * One bar of `width` cells shared between parts (fractions summing to at most
 * 1), rounded by largest remainder so the cells add up exactly.
 */
export function stackedBar(fractions: readonly number[], width: number): string {
  const exact = fractions.map((f) => Math.max(0, f) * width);
  const cells = exact.map(Math.floor);
  const room = Math.min(width, Math.round(exact.reduce((a, b) => a + b, 0))) - cells.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest);
  for (let k = 0; k < room; k++) cells[byRemainder[k % byRemainder.length]!.i]!++;
  const drawn = cells.map((n, i) => (GLYPHS[i % GLYPHS.length] ?? '#').repeat(n)).join('');
  return drawn + ' '.repeat(Math.max(0, width - [...drawn].length));
}

function errorLine(errors: Summary['errors']): string {
  if (errors.total === 0) return 'errors: 0';
  const kinds = Object.entries(errors.byKind)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  return `errors: ${errors.total} (${kinds}); last: ${errors.last ?? '?'}`;
}

/**
 * The per-version table. Rows of versions that never answered stay in, so
 * `v2 0 0%` is visible at the start of a rollout; latency columns only when
 * latencies were measured per request.
 */
export function renderSummary(summary: Summary): string[] {
  const latency = summary.versions.some((row) => row.p50Ms !== undefined);
  const header = [
    'version',
    'answers',
    'share',
    `${confidenceLabel(summary.confidence)} CI`,
    ...(latency ? ['p50', 'p99'] : []),
    'non-2xx',
  ];
  const rows = summary.versions.map((row) => [
    row.version,
    String(row.count),
    percent(row.share),
    interval(row),
    ...(latency ? [milliseconds(row.p50Ms), milliseconds(row.p99Ms)] : []),
    String(row.non2xx),
  ]);
  const align: Align[] = ['left', 'right', 'right', 'left', ...(latency ? (['right', 'right'] as const) : []), 'right'];
  const { header: byHeader, casing, none } = summary.classifiedBy;
  return [
    ...table([header, ...rows], align),
    `answers: ${summary.answers} (by header ${byHeader}, by casing ${casing}, unclassified ${none}); non-2xx: ${summary.non2xx}; ${errorLine(summary.errors)}`,
  ];
}
