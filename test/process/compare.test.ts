// `npm run compare` as a developer runs it: two builds and the ceiling under one
// load, ending in a table of medians and paired ratios. The build is compared
// with itself here, so only the shape of the report is asserted, never a speed.
import path from 'node:path';
import t from 'tap';
import { ROOT, spawnNode, type Teardown } from '../helpers/process.ts';

const COMPARE = path.join(ROOT, 'bench', 'compare.ts');
const run = (t: Teardown, args: string[]) => spawnNode(t, COMPARE, { nodeArgs: ['--import', 'tsx'], args });

t.test('compares two builds round by round and reports paired ratios', async (t) => {
  const compare = run(t, [`--against=${ROOT}`, '--scenarios=a,c', '--rounds=2', '--duration=0.3']);
  const exit = await compare.waitForExit(90_000);
  t.equal(exit.code, 0, compare.output());
  t.match(compare.stdout, /^round 2\/2 \(a\) req\/s: .*this \d+/m, 'each round names every server');
  for (const title of ['(a) GET /tickets', '(c) uncacheable query']) {
    const row = compare.stdout.split('\n').find((line) => line.trim().startsWith(title));
    t.ok(row, `a row for ${title}`);
    // req/s of the three servers, their CPU per request (all threads, then the main thread's), three ratios.
    const cells = /(?:\d+\s+){3}((?:\d+\.\d \(\d+\.\d\)\s+){3})(?:\d\.\d{3}x\s*){3}$/.exec(row ?? '');
    t.ok(cells, `medians and paired ratios: ${row}`);
    for (const [, all, main] of cells?.[1]?.matchAll(/(\S+) \((\S+)\)/g) ?? []) {
      // /proc counts in 10 ms ticks, and the two are read a moment apart: a tick's slack in a 0.3 s cell.
      t.ok(Number(main) > 0 && Number(main) <= Number(all) * 1.05, `the main thread's ${main} µs is part of ${all}`);
    }
  }
  t.equal(compare.stderr.includes('FAILED'), false);
});

t.test('a bad option is one line and exit 2, before any server starts', async (t) => {
  for (const [args, message] of [
    [[], /^compare: --against=DIR is required/],
    [['--against=/nonexistent'], /^compare: \/nonexistent\/dist\/server\.js is missing: run `npm ci && npm run build`/],
    [[`--against=${ROOT}`, '--scenarios=a,z'], /^compare: --scenarios: unknown z; known: a, b, c, d, e$/m],
    [[`--against=${ROOT}`, '--rounds=0'], /^compare: --rounds must be/],
    [[`--against=${ROOT}`, '--duration=abc'], /^compare: --duration must be/],
  ] as const) {
    const compare = run(t, [...args]);
    const exit = await compare.waitForExit(30_000);
    t.equal(exit.code, 2, args.join(' '));
    t.match(compare.stderr, message);
    t.equal(compare.stderr.trim().split('\n').length, 1, 'one line');
  }
});
