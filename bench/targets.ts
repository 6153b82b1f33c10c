// The performance targets (docs/performance.md), checked against a run's ratios. Informational only:
// these machines are too noisy for speed to fail anything.
import type { HttpResults, HttpRow } from './http.ts';
import { type ScaleResults, WHERE_KINDS, WHERE_SORT, WHERE_TITLES, type WhereKind } from './scale.ts';
import type { ScenarioId } from './scenarios.ts';

export interface TargetResult {
  label: string;
  /** `>= 0.90x`, `<= 100 MB`... */
  wanted: string;
  measured: number | undefined;
  unit: string;
  /** Undefined when this run did not measure it (quick mode skips 1,000,000 tickets). */
  pass: boolean | undefined;
}

interface Target {
  label: string;
  op: '>=' | '<=';
  limit: number;
  unit: 'x' | 'MB' | 's' | 'req/s';
  measure: (http: HttpResults | undefined, scale: ScaleResults | undefined) => number | undefined;
}

const ecadraftRow = (http: HttpResults | undefined, scenario: ScenarioId): HttpRow | undefined =>
  http?.rows.find((r) => r.scenario === scenario && r.server === 'ecadraft');
const vsCeiling = (scenario: ScenarioId) => (http: HttpResults | undefined) => ecadraftRow(http, scenario)?.vsCeiling;
const scaleRow = (scale: ScaleResults | undefined, tickets: number) => scale?.rows.find((r) => r.tickets === tickets);

// The larger of the two readings: memory only grows under load, and the target is about the whole life.
const rssMb = (tickets: number) => (_: unknown, scale: ScaleResults | undefined) => {
  const row = scaleRow(scale, tickets);
  const bytes = Math.max(row?.rssStartBytes ?? NaN, row?.rssAfterLoadBytes ?? NaN);
  return Number.isNaN(bytes) ? undefined : bytes / 1024 / 1024;
};
const readyS = (tickets: number) => (_: unknown, scale: ScaleResults | undefined) => {
  const ms = scaleRow(scale, tickets)?.readyMs;
  return ms === undefined ? undefined : ms / 1000;
};

/** How much slower a first-time `where` of a kind is at a million tickets than at ten thousand (a scan: about 100x). */
const whereGrowth =
  (kind: WhereKind, sorted: boolean) =>
  (_: unknown, scale: ScaleResults | undefined): number | undefined => {
    const at = (tickets: number) => {
      const ms = scaleRow(scale, tickets)?.where[kind];
      return sorted ? ms?.sortedMs : ms?.plainMs;
    };
    const [large, small] = [at(1_000_000), at(10_000)];
    return large === undefined || small === undefined || small === 0 ? undefined : large / small;
  };

const whereTargets: Target[] = WHERE_KINDS.flatMap((kind) =>
  [false, true].map((sorted) => ({
    label: `where, ${WHERE_TITLES[kind]}${sorted ? `, sort=${WHERE_SORT}` : ''}: 1,000,000 / 10,000 tickets`,
    op: '<=' as const,
    limit: 10,
    unit: 'x' as const,
    measure: whereGrowth(kind, sorted),
  })),
);

export const TARGETS: readonly Target[] = [
  { label: '(a) GET /tickets, x ceiling', op: '>=', limit: 0.9, unit: 'x', measure: vsCeiling('a') },
  { label: '(d) GET /tickets/{id}, x ceiling', op: '>=', limit: 0.85, unit: 'x', measure: vsCeiling('d') },
  { label: '(e) If-None-Match, x ceiling', op: '>=', limit: 0.9, unit: 'x', measure: vsCeiling('e') },
  { label: '(c) uncacheable, x ceiling', op: '>=', limit: 0.6, unit: 'x', measure: vsCeiling('c') },
  {
    label: '(c) uncacheable, x baseline',
    op: '>=',
    limit: 2.5,
    unit: 'x',
    measure: (http) => ecadraftRow(http, 'c')?.vsBaseline,
  },
  { label: 'RSS at 100 tickets', op: '<=', limit: 100, unit: 'MB', measure: rssMb(100) },
  { label: 'RSS at 1,000,000 tickets', op: '<=', limit: 400, unit: 'MB', measure: rssMb(1_000_000) },
  { label: 'ready at 100 tickets', op: '<=', limit: 0.5, unit: 's', measure: readyS(100) },
  { label: 'ready at 1,000,000 tickets', op: '<=', limit: 2, unit: 's', measure: readyS(1_000_000) },
  {
    label: '(c) at 1,000,000 tickets, load',
    op: '>=',
    limit: 200,
    unit: 'req/s',
    measure: (_, scale) => scaleRow(scale, 1_000_000)?.loadRps,
  },
  ...whereTargets,
];

export function evaluateTargets(http: HttpResults | undefined, scale: ScaleResults | undefined): TargetResult[] {
  return TARGETS.map(({ label, op, limit, unit, measure }) => {
    const measured = measure(http, scale);
    return {
      label,
      wanted: `${op} ${limit}${unit === 'x' ? 'x' : ` ${unit}`}`,
      measured,
      unit,
      pass: measured === undefined ? undefined : op === '>=' ? measured >= limit : measured <= limit,
    };
  });
}
