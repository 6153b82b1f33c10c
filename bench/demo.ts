// `npm run demo`: the canary walkthrough without a cluster. v1 and v2 run as
// real processes (node dist/server.js) on loopback, behind a local weighted
// proxy that stands in for the ingress gateway and takes its weights from the
// repository's VirtualService files. Typing a step moves the traffic, as
// `kubectl apply -f kubernetes/ecadraft-virtual-service-<step>.yaml` would, so
// `ecadraft split --watch` in another terminal shows the shares move. Ctrl-C
// stops the proxy and both servers and exits 0.
//
// The servers get a process group of their own: a Ctrl-C in the terminal
// reaches only this process, which stops them in order (and waits for them),
// instead of every process racing through its own shutdown.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { assertFreshBuild, NodeProcess, ROOT, SERVER_SCRIPT, StartError, whenReady } from './processes.ts';
import { type Backend, routeWeights, startWeightedProxy, type WeightedProxy } from './weighted-proxy.ts';

const USAGE = `Usage: npm run demo [-- --port <port>] [--step <step>]

Starts ecadraft v1 and v2 on loopback behind a local weighted proxy whose
weights come from kubernetes/ecadraft-virtual-service-<step>.yaml.

  --port <port>   the proxy's port on 127.0.0.1 (default 8080; 0 picks a free one)
  --step <step>   the first step: v1, 90-10, 50-50 or v2 (default v1)
  --seed <n>      a fixed seed for the proxy's draws: each step then splits the
                  same way on every run (default: a new seed each run)
  -h, --help      this text
`;

/** The weighted steps of the walkthrough, in order, keyed by what a user may type. */
const STEPS = ['v1', '90-10', '50-50', 'v2'] as const;
const STOP_TIMEOUT_MS = 10_000;

const stepFile = (step: string) => path.join(ROOT, 'kubernetes', `ecadraft-virtual-service-${step}.yaml`);

/** A typed step: its number (1-4), its name, or the path of any VirtualService file that splits by weight. */
function resolveStep(input: string): string | undefined {
  const n = Number(input);
  const step = Number.isInteger(n) && n >= 1 && n <= STEPS.length ? STEPS[n - 1]! : input;
  if ((STEPS as readonly string[]).includes(step)) return stepFile(step);
  const file = path.resolve(step);
  return input !== '' && existsSync(file) ? file : undefined;
}

function fail(message: string): never {
  process.stderr.write(`ecadraft demo: ${message}\n`);
  process.exit(2);
}

function options(): { port: number; first: string; seed: number | undefined } {
  let values: { port?: string; step?: string; seed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '8080' },
        step: { type: 'string', default: 'v1' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message} (see npm run demo -- --help)`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port ?? '') || port > 65_535) fail(`invalid --port "${values.port}": expected 0 to 65535`);
  const first = resolveStep(values.step ?? 'v1');
  if (!first) fail(`invalid --step "${values.step}": expected one of ${STEPS.join(', ')}`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) fail(`invalid --seed "${values.seed}"`);
  return { port, first, seed };
}

const { port, first, seed } = options();
try {
  assertFreshBuild();
} catch (error) {
  fail((error as Error).message);
}

const servers = new Map<string, { process: NodeProcess; url: string }>();
let proxy: WeightedProxy | undefined;
let stopping = false;

/** Stops the proxy, then each server with SIGTERM, waiting for every one; SIGKILL past the timeout. */
async function stopAll(): Promise<void> {
  await proxy?.close();
  await Promise.all(
    [...servers.values()].map(async ({ process: child }) => {
      if (child.exit) return;
      child.signal('SIGTERM');
      await child.waitForExit(STOP_TIMEOUT_MS).catch(() => undefined);
    }),
  );
}

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    // A second Ctrl-C: no more waiting.
    for (const { process: child } of servers.values()) child.child.kill('SIGKILL');
    process.exit(130);
  }
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the proxy and both servers\n`);
  await stopAll();
  process.stdout.write('stopped\n');
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

function backends(file: string): Backend[] {
  return routeWeights(file).map((route) => {
    const server = servers.get(route.subset);
    if (!server) throw new Error(`${file} routes to subset ${route.subset}, which the demo does not run`);
    return { name: route.subset, url: server.url, weight: route.weight };
  });
}

const describe = (file: string) =>
  `${routeWeights(file)
    .map((r) => `${r.subset}=${r.weight}`)
    .join(' ')}  (${path.relative(ROOT, file)})`;

try {
  for (const version of ['v1', 'v2']) {
    // No shutdown delay: no mesh needs time to stop sending to a demo's servers.
    const child = new NodeProcess(SERVER_SCRIPT, {
      env: { VERSION: version, SHUTDOWN_DELAY_MS: '0' },
      detached: true,
    });
    servers.set(version, { process: child, url: '' });
    const { url } = await whenReady(child, { timeoutMs: 30_000 });
    servers.set(version, { process: child, url });
  }
  proxy = await startWeightedProxy(backends(first), { port, seed });
} catch (error) {
  await stopAll();
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') fail(`cannot listen on 127.0.0.1:${port}: it is in use (pass another --port, or 0)`);
  if (error instanceof StartError) fail(`a server did not start: ${message}`);
  throw error;
}

const gateway = new URL(proxy.url).host;
process.stdout.write(
  [
    'ecadraft demo: v1 and v2 behind a local weighted proxy, a stand-in for the ingress gateway',
    `  v1       ${servers.get('v1')!.url}  (node dist/server.js, VERSION=v1)`,
    `  v2       ${servers.get('v2')!.url}  (node dist/server.js, VERSION=v2)`,
    `  gateway  ${proxy.url}  routes ${describe(first)}`,
    `  page     ${proxy.url}/ui  (the split in a browser)`,
    '',
    'In another terminal:',
    `  export GATEWAY_URL=${gateway}`,
    '  ecadraft split --watch http://$GATEWAY_URL/tickets',
    '',
    'Move the traffic: type a step and Enter, as kubectl apply -f on its VirtualService would.',
    `  ${STEPS.map((s, i) => `${i + 1} = ${s}`).join('   ')}   (or the path of a VirtualService file)`,
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

createInterface({ input: process.stdin }).on('line', (line) => {
  const input = line.trim();
  if (input === '' || stopping) return;
  const file = resolveStep(input);
  try {
    if (!file) throw new Error(`unknown step "${input}": type 1 to ${STEPS.length}, ${STEPS.join(', ')} or a file`);
    proxy!.reroute(backends(file));
    process.stdout.write(`routes ${describe(file)}\n`);
  } catch (error) {
    process.stderr.write(`ecadraft demo: ${(error as Error).message}\n`);
  }
});

// A server that dies on its own leaves the demo half broken: say so and stop.
for (const [version, { process: child }] of servers) {
  void child.exited.then((exit) => {
    if (stopping) return;
    process.stderr.write(`ecadraft demo: the ${version} server exited (${JSON.stringify(exit)})\n${child.output()}`);
    void stopAll().then(() => process.exit(1));
  });
}
