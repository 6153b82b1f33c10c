// `npm run compare -- --against=DIR [--scenarios=a,b,d,e] [--rounds=10] [--duration=2]`:
// this checkout's build and another checkout's (DIR, built with `npm ci && npm
// run build`, for example a git worktree of main) under the same load, side
// by side with the ceiling, cells alternating. Whether a change made a
// scenario faster or slower is then a ratio paired round by round in one run:
// two separate `npm run bench` runs on a shared machine differ by more than
// most changes do. Server CPU per request is shown too.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from '../src/demo/http-client.ts';
import { assertFreshBuild, type Child, cleanUpOnExit, StartError, startEcadraft, startReference } from './children.ts';
import { allTickets } from './client.ts';
import { alternateCells, type Cell, cellName, describeFailure, freshEachRound, pairedRatio } from './http.ts';
import { CONNECTIONS, failed } from './load.ts';
import { SCENARIOS, type Scenario, type TargetInfo } from './scenarios.ts';
import { median } from './stats.ts';
import { renderText, type Table } from './tables.ts';

const NAMES = ['this', 'against', 'ceiling'] as const;
type Name = (typeof NAMES)[number];

interface Options {
  against: string;
  scenarios: Scenario[];
  rounds: number;
  durationS: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      against: { type: 'string' },
      scenarios: { type: 'string', default: 'a,b,c,d,e' },
      rounds: { type: 'string', default: '10' },
      duration: { type: 'string', default: '2' },
    },
  });
  if (!values.against) throw new StartError('--against=DIR is required: a checkout of ecadraft, built');
  const against = path.resolve(values.against);
  const server = path.join(against, 'dist', 'server.js');
  if (!existsSync(server))
    throw new StartError(`${server} is missing: run \`npm ci && npm run build\` in ${values.against}`);
  const known = SCENARIOS.map((s) => s.id as string);
  const scenarios = values.scenarios.split(',').map((s) => s.trim());
  const unknown = scenarios.filter((s) => !known.includes(s));
  if (unknown.length > 0)
    throw new StartError(`--scenarios: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const rounds = Number(values.rounds);
  const durationS = Number(values.duration);
  if (!Number.isInteger(rounds) || rounds < 1) throw new StartError(`--rounds must be a whole number of at least 1`);
  if (!(durationS > 0 && durationS <= 30)) throw new StartError(`--duration must be seconds in (0, 30]`);
  return { against, scenarios: scenarios.map((id) => SCENARIOS.find((s) => s.id === id)!), rounds, durationS };
}

async function main(): Promise<number> {
  const opts = options();
  assertFreshBuild();
  cleanUpOnExit();
  let ids: string[] | undefined;
  // New processes every round, as in the benchmark: the median over rounds is one over processes too.
  const lineups = freshEachRound<Name>(async (started) => {
    const mine = await startEcadraft({ name: 'this' });
    started.push(mine);
    const theirs = await startEcadraft({ checkout: opts.against, name: 'against' });
    started.push(theirs);
    const ceiling = await startReference('ceiling', { SOURCE_URL: mine.url });
    started.push(ceiling);
    const children: Record<Name, Child> = { this: mine, against: theirs, ceiling };
    ids ??= (await allTickets(mine.url, 1000)).map((item) => item._id);
    const targetOf = async (name: Name): Promise<TargetInfo> => {
      const first = await request(`${children[name].url}/tickets`, { timeoutMs: 30_000 });
      return { etag: String(first.headers.etag), ids: ids! };
    };
    const targets = {
      this: await targetOf('this'),
      against: await targetOf('against'),
      ceiling: await targetOf('ceiling'),
    };
    return { children, targets };
  });
  let cells: Cell<Name>[];
  try {
    const plan = { rounds: opts.rounds, warmupS: 0.5, load: { ...CONNECTIONS, durationS: opts.durationS } };
    cells = await alternateCells(NAMES, lineups.next, opts.scenarios, plan, (line) =>
      process.stdout.write(`${line}\n`),
    );
  } finally {
    await lineups.stop();
  }
  process.stdout.write(`\n${renderText(report(cells, opts))}\n`);
  const failures = cells.filter(failed).map((c) => describeFailure(cellName(c), c));
  if (failures.length > 0) {
    process.stderr.write(`\ncompare: FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

/** Per scenario: each server's median req/s and CPU per request, then the paired ratios. */
function report(cells: readonly Cell<Name>[], opts: Options): Table {
  const fixed = (value: number | undefined, digits: number) => (value === undefined ? '' : value.toFixed(digits));
  const rows = opts.scenarios.map((scenario) => {
    const medianOf = (name: Name, pick: (cell: Cell<Name>) => number | undefined) =>
      median(cells.flatMap((c) => (c.scenario === scenario.id && c.server === name ? (pick(c) ?? []) : [])));
    // A server that is the bottleneck is slower by what its main thread spends on each request.
    const perRequestUs = (cores: number | undefined, rps: number) =>
      cores === undefined ? undefined : (cores / rps) * 1e6;
    const cpuUs = (name: Name, cores: (cell: Cell<Name>) => number | undefined) =>
      fixed(
        medianOf(name, (c) => perRequestUs(cores(c), c.rps)),
        1,
      );
    const ratioOf = (a: Name, b: Name) => `${fixed(pairedRatio(cells, scenario.id, a, b), 3)}x`;
    return [
      `(${scenario.id}) ${scenario.title}`,
      ...NAMES.map((n) =>
        fixed(
          medianOf(n, (c) => c.rps),
          0,
        ),
      ),
      ...NAMES.map((n) => `${cpuUs(n, (c) => c.serverCpu)} (${cpuUs(n, (c) => c.serverMainCpu)})`),
      ratioOf('this', 'against'),
      ratioOf('this', 'ceiling'),
      ratioOf('against', 'ceiling'),
    ];
  });
  const head = ['scenario', ...NAMES.map((n) => `req/s ${n}`), ...NAMES.map((n) => `CPU µs/req ${n} (main thread)`)];
  return {
    title: `This build against ${opts.against}: medians of ${opts.rounds} rounds, ${opts.durationS} s per cell`,
    align: ['left', ...Array<'right'>(9).fill('right')],
    rows: [[...head, 'this x against', 'this x ceiling', 'against x ceiling'], ...rows],
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof StartError) {
      process.stderr.write(`compare: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`compare: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
