// The side-by-side HTTP benchmark: the real server, the ceiling and the
// idiomatic baseline under the same autocannon settings, cells alternating
// between servers so that noise from the (shared, busy) machine spreads over
// all three instead of landing on whichever ran during a bad second. Each
// round starts fresh processes: one process of a server can be faster than
// the next by more than most changes make, so the median over rounds is a
// median over processes too.

import { request } from '../src/demo/http-client.ts';
import { type Child, startEcadraft, startReference } from './children.ts';
import { allTickets } from './client.ts';
import { type CellResult, failed, type LoadSettings, runLoad } from './load.ts';
import { SCENARIOS, type Scenario, type ScenarioId, type TargetInfo } from './scenarios.ts';
import { median, ratio } from './stats.ts';

export const SERVERS = ['ecadraft', 'ceiling', 'baseline'] as const;
export type ServerName = (typeof SERVERS)[number];

export interface HttpPlan {
  rounds: number;
  /** Untimed load per server and scenario before the first round, so JIT warm-up is not measured. */
  warmupS: number;
  load: LoadSettings;
}

/** One server's result for one scenario in one round. */
export interface Cell<Name extends string> extends CellResult {
  round: number;
  scenario: ScenarioId;
  server: Name;
}

export type HttpCell = Cell<ServerName>;

/** The servers of one round and what each is loaded with. */
export interface Lineup<Name extends string> {
  children: Record<Name, Child>;
  targets: Record<Name, TargetInfo>;
}

export interface HttpRow {
  scenario: ScenarioId;
  title: string;
  server: ServerName;
  /** Medians over the rounds. */
  rps: number | undefined;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  /** Cores busy, server and load generator (see CellResult). */
  serverCpu: number | undefined;
  serverMainCpu: number | undefined;
  clientCpu: number | undefined;
  /** Sums over the rounds. */
  errors: number;
  non2xx: number;
  unexpected: number;
  /** Median over the rounds of this server's req/s over the other's in the same round. */
  vsCeiling: number | undefined;
  vsBaseline: number | undefined;
}

export interface HttpResults {
  plan: HttpPlan;
  /** Median over the rounds' processes. */
  servers: Record<ServerName, { readyMs: number }>;
  /** Whether the references serve what they are meant to copy, in every round. */
  checks: { ceilingSameBytesAndHeaders: boolean; baselineSameBodyForA: boolean };
  cells: HttpCell[];
  rows: HttpRow[];
  failures: string[];
  /** Measurements to distrust, which are not failures of the server (see CellResult.repeated). */
  warnings: string[];
}

const withoutDate = (raw: string[]) => raw.filter((_, i) => raw[i - (i % 2)]!.toLowerCase() !== 'date');

/** Runs `start` for each round, stopping the previous round's processes first; `stop` ends the last ones. */
export function freshEachRound<Name extends string>(start: (started: Child[]) => Promise<Lineup<Name>>) {
  let started: Child[] = [];
  const stop = async () => {
    await Promise.all(started.map((child) => child.stop()));
    started = [];
  };
  const next = async () => {
    await stop();
    return start(started);
  };
  return { next, stop };
}

export async function runHttp(plan: HttpPlan, log: (line: string) => void): Promise<HttpResults> {
  const readyMs: Record<ServerName, number[]> = { ecadraft: [], ceiling: [], baseline: [] };
  const checks = { ceilingSameBytesAndHeaders: true, baselineSameBodyForA: true };
  let ids: string[] | undefined;
  const lineups = freshEachRound<ServerName>(async (started) => {
    const ecadraft = await startEcadraft();
    started.push(ecadraft);
    ids ??= (await allTickets(ecadraft.url, 1000)).map((item) => item._id);
    // The references copy the real server, so they start once it answers.
    const [ceiling, baseline] = await Promise.all([
      startReference('ceiling', { SOURCE_URL: ecadraft.url }),
      startReference('baseline', { SOURCE_URL: ecadraft.url }),
    ]);
    started.push(ceiling, baseline);
    const children: Record<ServerName, Child> = { ecadraft, ceiling, baseline };
    const first = Object.fromEntries(
      await Promise.all(
        SERVERS.map(
          async (name) => [name, await request(`${children[name].url}/tickets`, { timeoutMs: 30_000 })] as const,
        ),
      ),
    );
    const targetOf = (name: ServerName): TargetInfo => ({ etag: String(first[name]!.headers.etag), ids: ids! });
    checks.ceilingSameBytesAndHeaders &&=
      first.ceiling!.bytes.equals(first.ecadraft!.bytes) &&
      withoutDate(first.ceiling!.rawHeaders).join('\n') === withoutDate(first.ecadraft!.rawHeaders).join('\n');
    checks.baselineSameBodyForA &&= first.baseline!.bytes.equals(first.ecadraft!.bytes);
    for (const n of SERVERS) readyMs[n].push(children[n].readyMs);
    log(
      `servers ready: ${SERVERS.map((n) => `${n} ${Math.round(children[n].readyMs)} ms`).join(', ')}; ` +
        `ceiling copies (a) exactly: ${checks.ceilingSameBytesAndHeaders}, baseline body for (a) identical: ${checks.baselineSameBodyForA}`,
    );
    return {
      children,
      targets: { ecadraft: targetOf('ecadraft'), ceiling: targetOf('ceiling'), baseline: targetOf('baseline') },
    };
  });
  try {
    const cells = await alternateCells(SERVERS, lineups.next, SCENARIOS, plan, log);
    const servers = Object.fromEntries(
      SERVERS.map((n) => [n, { readyMs: median(readyMs[n])! }]),
    ) as HttpResults['servers'];
    return {
      plan,
      servers,
      checks,
      cells,
      rows: summarize(cells),
      failures: cells.filter(failed).map((c) => describeFailure(cellName(c), c)),
      // The ceiling answers every URL with the same bytes, so a repeated URL changes nothing for it.
      warnings: cells
        .filter((c) => c.repeated > 0 && c.server !== 'ceiling')
        .map((c) => repeatedWarning(cellName(c), c)),
    };
  } finally {
    await lineups.stop();
  }
}

/**
 * Every scenario on every server, in rounds: within a round the servers take
 * turns scenario by scenario, so a burst of outside load lands on a pair of
 * cells rather than on one server's whole column. `lineupOf` gives each
 * round's servers; new processes are warmed up before they are timed.
 */
export async function alternateCells<Name extends string>(
  servers: readonly Name[],
  lineupOf: (round: number) => Promise<Lineup<Name>>,
  scenarios: readonly Scenario[],
  plan: HttpPlan,
  log: (line: string) => void,
): Promise<Cell<Name>[]> {
  const cells: Cell<Name>[] = [];
  let warmed: Record<Name, Child> | undefined;
  for (let round = 1; round <= plan.rounds; round++) {
    const { children, targets } = await lineupOf(round);
    const cell = (name: Name, scenario: Scenario, durationS: number) =>
      runLoad(
        children[name].url,
        scenario.request(targets[name]),
        scenario.expects,
        { ...plan.load, durationS },
        children[name].cpuSeconds,
      );
    if (plan.warmupS > 0 && warmed !== children) {
      for (const scenario of scenarios) for (const name of servers) await cell(name, scenario, plan.warmupS);
    }
    warmed = children;
    // Each round starts with the next server, so none always runs first after a scenario change.
    const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]!);
    for (const scenario of scenarios) {
      const line: string[] = [];
      for (const name of order) {
        const result = await cell(name, scenario, plan.load.durationS);
        cells.push({ round, scenario: scenario.id, server: name, ...result });
        line.push(`${name} ${Math.round(result.rps)}${failed(result) ? ' (!)' : ''}`);
      }
      log(`round ${round}/${plan.rounds} (${scenario.id}) req/s: ${line.join(', ')}`);
    }
  }
  return cells;
}

/** The median over the rounds of one server's req/s over another's in the same round. */
export function pairedRatio<Name extends string>(
  cells: readonly Cell<Name>[],
  scenario: ScenarioId,
  server: Name,
  other: Name,
): number | undefined {
  const rpsOf = (name: Name, round: number) =>
    cells.find((c) => c.scenario === scenario && c.server === name && c.round === round)?.rps;
  return median(
    cells.flatMap((c) =>
      c.scenario === scenario && c.server === server ? (ratio(c.rps, rpsOf(other, c.round)) ?? []) : [],
    ),
  );
}

function summarize(cells: HttpCell[]): HttpRow[] {
  const rows: HttpRow[] = [];
  for (const scenario of SCENARIOS) {
    for (const server of SERVERS) {
      const mine = cells.filter((c) => c.scenario === scenario.id && c.server === server);
      const medianOf = (pick: (c: HttpCell) => number | undefined) => median(mine.flatMap((c) => pick(c) ?? []));
      const sum = (pick: (c: HttpCell) => number) => mine.reduce((total, c) => total + pick(c), 0);
      rows.push({
        scenario: scenario.id,
        title: scenario.title,
        server,
        rps: medianOf((c) => c.rps),
        p50Ms: medianOf((c) => c.p50Ms),
        p99Ms: medianOf((c) => c.p99Ms),
        serverCpu: medianOf((c) => c.serverCpu),
        serverMainCpu: medianOf((c) => c.serverMainCpu),
        clientCpu: medianOf((c) => c.clientCpu),
        errors: sum((c) => c.errors),
        non2xx: sum((c) => c.non2xx),
        unexpected: sum((c) => c.unexpected),
        vsCeiling: pairedRatio(cells, scenario.id, server, 'ceiling'),
        vsBaseline: pairedRatio(cells, scenario.id, server, 'baseline'),
      });
    }
  }
  return rows;
}

export function describeFailure(
  what: string,
  cell: Pick<CellResult, 'errors' | 'timeouts' | 'unexpected' | 'statuses'>,
): string {
  return (
    `${what}: ${cell.errors} connection errors (${cell.timeouts} timeouts), ${cell.unexpected} unexpected statuses ` +
    `(statuses seen: ${JSON.stringify(cell.statuses)})`
  );
}

export const repeatedWarning = (what: string, cell: CellResult) =>
  `${what}: ${cell.repeated} of ${cell.requests} requests repeated an earlier URL (more requests than prebuilt unique paths)`;

export const cellName = (c: Cell<string>) => `round ${c.round}, scenario (${c.scenario}) on ${c.server}`;
