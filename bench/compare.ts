// `npm run compare -- --against=DIR [--scenarios=a,b,d,e] [--rounds=10] [--duration=2]`:
// this checkout's build and another checkout's (DIR, built with `npm ci && npm
// run build`, for example a git worktree of main) under the same load, side
// by side with the ceiling, cells alternating. Whether a change made a
// scenario faster or slower is then a ratio paired round by round in one run:
// two separate `npm run bench` runs on a shared machine differ by more than
// most changes do. Server CPU per request is shown too: a server that is the
// bottleneck is slower by what it spends.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { assertFreshBuild, type Child, cleanUpOnExit, StartError, startEcadraft, startReference } from './children.ts';
import { allTickets } from './client.ts';
import { describeFailure } from './http.ts';
import { request } from './http-client.ts';
import { failed, runLoad } from './load.ts';
import { renderText } from './report.ts';
import { SCENARIOS, type ScenarioId, type TargetInfo } from './scenarios.ts';
import { median, ratio } from './stats.ts';

const NAMES = ['this', 'against', 'ceiling'] as const;
type Name = (typeof NAMES)[number];

interface Options {
  against: string;
  scenarios: ScenarioId[];
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
  const server = path.resolve(values.against, 'dist', 'server.js');
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
  return { against: server, scenarios: scenarios as ScenarioId[], rounds, durationS };
}

interface Cell {
  rps: number;
  /** Server CPU per request, microseconds. */
  cpuUs: number | undefined;
}

async function main(): Promise<number> {
  const opts = options();
  assertFreshBuild();
  cleanUpOnExit();
  const started: Child[] = [];
  const failures: string[] = [];
  try {
    const mine = await startEcadraft({}, 30_000, undefined, 'this');
    const theirs = await startEcadraft({}, 30_000, opts.against, 'against');
    started.push(mine, theirs);
    const ceiling = await startReference('ceiling', { SOURCE_URL: mine.url });
    started.push(ceiling);
    const children: Record<Name, Child> = { this: mine, against: theirs, ceiling };
    const ids = (await allTickets(mine.url, 1000)).map((item) => item._id);
    const targets = {} as Record<Name, TargetInfo>;
    for (const name of NAMES) {
      const first = await request(`${children[name].url}/tickets`, { timeoutMs: 30_000 });
      targets[name] = { etag: String(first.headers.etag), ids };
    }
    const rows: string[][] = [];
    for (const id of opts.scenarios) {
      const scenario = SCENARIOS.find((s) => s.id === id)!;
      const cells: Record<Name, Cell[]> = { this: [], against: [], ceiling: [] };
      const run = (name: Name, durationS: number) =>
        runLoad(
          children[name].url,
          scenario.request(targets[name]),
          scenario.expects,
          { connections: 10, pipelining: 1, durationS },
          children[name].cpuSeconds,
        );
      for (const name of NAMES) await run(name, 0.5);
      for (let round = 0; round < opts.rounds; round++) {
        const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
        const line: string[] = [];
        for (const name of order) {
          const result = await run(name, opts.durationS);
          if (failed(result)) failures.push(describeFailure(`(${id}) round ${round + 1} on ${name}`, result));
          const cpuUs = result.serverCpu === undefined ? undefined : (result.serverCpu / result.rps) * 1e6;
          cells[name].push({ rps: result.rps, cpuUs });
          line.push(`${name} ${Math.round(result.rps)}`);
        }
        process.stdout.write(`(${id}) round ${round + 1}/${opts.rounds} req/s: ${line.join(', ')}\n`);
      }
      const paired = (a: Name, b: Name) =>
        median(cells[a].flatMap((cell, i) => ratio(cell.rps, cells[b][i]!.rps) ?? []));
      const fixed = (value: number | undefined, digits: number) => (value === undefined ? '' : value.toFixed(digits));
      const medianOf = (name: Name, pick: (cell: Cell) => number | undefined) =>
        median(cells[name].flatMap((cell) => pick(cell) ?? []));
      rows.push([
        `(${id}) ${scenario.title}`,
        ...NAMES.map((n) =>
          fixed(
            medianOf(n, (c) => c.rps),
            0,
          ),
        ),
        ...NAMES.map((n) =>
          fixed(
            medianOf(n, (c) => c.cpuUs),
            1,
          ),
        ),
        `${fixed(paired('this', 'against'), 3)}x`,
        `${fixed(paired('this', 'ceiling'), 3)}x`,
        `${fixed(paired('against', 'ceiling'), 3)}x`,
      ]);
    }
    process.stdout.write(
      `\n${renderText({
        title: `This build against ${opts.against}: medians of ${opts.rounds} rounds, ${opts.durationS} s per cell`,
        align: ['left', ...Array<'right'>(9).fill('right')],
        rows: [
          [
            'scenario',
            'req/s this',
            'req/s against',
            'req/s ceiling',
            'CPU µs/req this',
            'CPU µs/req against',
            'CPU µs/req ceiling',
            'this x against',
            'this x ceiling',
            'against x ceiling',
          ],
          ...rows,
        ],
      })}\n`,
    );
  } finally {
    await Promise.all(started.map((child) => child.stop()));
  }
  if (failures.length > 0) {
    process.stderr.write(`\ncompare: FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
    return 1;
  }
  return 0;
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
