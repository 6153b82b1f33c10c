// The servers a benchmark run starts, each a child process (src/demo/processes.ts,
// shared with the tests and the demo): Ctrl-C or a kill of the run leaves no
// server behind, and every wait is bounded so a hung server fails the run
// instead of hanging it (CI runs the quick mode).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Env,
  imageNodeArgs,
  killAll,
  liveChildren,
  NodeProcess,
  ROOT,
  StartError,
  whenReady,
} from '../src/demo/processes.ts';
import { REFERENCE_READY } from './servers/reference.ts';

export { assertFreshBuild, ROOT, StartError } from '../src/demo/processes.ts';

/** Kills every child on SIGINT/SIGTERM before exiting with the signal's code (src/demo/processes.ts does it on exit). */
export function cleanUpOnExit(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${liveChildren()} server(s)\n`);
      killAll();
      process.exit(code);
    });
  }
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Spawn to the first 200 from /readyz. */
  readonly readyMs: number;
  /** The JSON line the server printed when it was listening. */
  readonly readyLine: Record<string, unknown>;
  /** Resident set size now, from /proc (Linux only). */
  rssBytes(): number | undefined;
  /** CPU time used so far, from /proc (Linux only). */
  cpuSeconds(): CpuSeconds | undefined;
  stop(): Promise<void>;
}

// Linux's USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

export interface CpuSeconds {
  /** Every thread: the main one and V8's and libuv's helpers. */
  all: number;
  /**
   * The thread that runs JavaScript and the event loop. A server's req/s is
   * bounded by this one core however many the helpers (GC, compilers) use.
   */
  mainThread: number;
}

/** User plus system time of a /proc stat file, in seconds. */
function statSeconds(path: string): number {
  // The command name may hold spaces: fields are counted from the closing parenthesis.
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function cpuSecondsOf(pid: number): CpuSeconds | undefined {
  try {
    // A process's main thread is the task whose id is the process's.
    return { all: statSeconds(`/proc/${pid}/stat`), mainThread: statSeconds(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

export function rssOf(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Starts `node [nodeArgs] <script>` on 127.0.0.1 and a port the OS picks; resolves once /readyz is 200. */
async function startChild(
  name: string,
  script: string,
  {
    nodeArgs = [],
    env = {},
    readyMsg,
    timeoutMs,
  }: { nodeArgs?: string[]; env?: Env; readyMsg: string; timeoutMs: number },
): Promise<Child> {
  const started = performance.now();
  const child = new NodeProcess(script, { nodeArgs, env });
  let ready: Awaited<ReturnType<typeof whenReady>>;
  try {
    ready = await whenReady(child, { readyMsg, timeoutMs });
  } catch (error) {
    await child.stop();
    throw new StartError(`${name} ${(error as Error).message}`);
  }
  const readyMs = performance.now() - started;
  return {
    name,
    pid: child.pid,
    url: ready.url,
    readyMs,
    readyLine: ready.readyLine,
    rssBytes: () => rssOf(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    // Nothing to learn from a graceful stop here, and the real server's would take seconds.
    stop: () => child.stop(),
  };
}

export interface EcadraftOptions {
  /** The only variables set. */
  env?: Env;
  timeoutMs?: number;
  /** Another checkout's build, run with its own image's flags (bench/compare.ts); this checkout's by default. */
  checkout?: string;
  /** The name the run's messages give it. */
  name?: string;
}

/** The service as its image and `npm start` run it: `node <the Dockerfile's flags> dist/server.js`. */
export function startEcadraft({
  env = {},
  timeoutMs = 30_000,
  checkout = ROOT,
  name = 'ecadraft',
}: EcadraftOptions = {}): Promise<Child> {
  const script = path.join(checkout, 'dist', 'server.js');
  return startChild(name, script, { nodeArgs: imageNodeArgs(checkout), env, readyMsg: 'ecadraft ready', timeoutMs });
}

/**
 * A reference server from bench/servers/, run through tsx like the bench itself, with the
 * Node.js flags ecadraft's image gives it: the ratios compare code, not V8's settings.
 */
export function startReference(name: 'ceiling' | 'baseline', env: Env, timeoutMs = 30_000): Promise<Child> {
  const script = path.join(ROOT, 'bench', 'servers', `${name}.ts`);
  const nodeArgs = [...imageNodeArgs(ROOT), '--import', 'tsx'];
  return startChild(name, script, { nodeArgs, env, readyMsg: REFERENCE_READY, timeoutMs });
}
