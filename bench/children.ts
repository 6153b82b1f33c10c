// The servers a benchmark run starts, each a child process. Every child is
// registered here so that an error, Ctrl-C or a kill of the run leaves no
// server behind, and every wait is bounded so a hung server fails the run
// instead of hanging it (CI runs the quick mode).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { childEnv, type Env, HOST, ROOT } from '../test/helpers/process.ts';
import { get } from './client.ts';
import { REFERENCE_READY } from './servers/reference.ts';

export { HOST, ROOT };
export const SERVER_SCRIPT = path.join(ROOT, 'dist', 'server.js');

/** A server that did not come up: the run reports it and exits non-zero. */
export class StartError extends Error {
  override name = 'StartError';
}

const live = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Kills every child on exit, and on SIGINT/SIGTERM before exiting with the signal's code. */
export function cleanUpOnExit(): void {
  process.once('exit', killAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping ${live.size} server(s)\n`);
      killAll();
      process.exit(code);
    });
  }
}

/** Measuring yesterday's build would credit or blame the wrong code. */
export function assertFreshBuild(): void {
  if (!existsSync(SERVER_SCRIPT)) throw new StartError(`${SERVER_SCRIPT} is missing: run \`npm run build\` first`);
  const built = statSync(SERVER_SCRIPT).mtimeMs;
  const src = path.join(ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && statSync(path.join(src, f)).mtimeMs > built,
  );
  if (newer.length > 0)
    throw new StartError(`dist/ is older than src/ (${newer.join(', ')}): run \`npm run build\` first`);
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
  /** CPU time used so far, all threads, from /proc (Linux only). */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Node arguments: flags, then the script and its arguments. */
  args: string[];
  env?: Env;
  /** The `msg` of the JSON line that carries the listening `address`. */
  readyMsg: string;
  timeoutMs: number;
}

const OUTPUT_KEPT = 64 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Linux's USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on every architecture Node runs on.
const TICKS_PER_SECOND = 100;

export function cpuSecondsOf(pid: number): number | undefined {
  try {
    // The command name may hold spaces: fields are counted from the closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
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

/**
 * Spawns `node <args>` from the repository root with the environment `npm start`
 * would see (the parent's, minus the bench's own loader flags and config
 * variables), on 127.0.0.1 and a port the OS picks; resolves once /readyz is 200.
 */
export async function startChild({ name, args, env = {}, readyMsg, timeoutMs }: StartOptions): Promise<Child> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  const child = spawn(process.execPath, args, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  let pending = '';
  let readyLine: Record<string, unknown> | undefined;
  let exited: string | undefined;
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_KEPT);
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    keep(chunk);
    if (readyLine) return;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === readyMsg && typeof parsed.address === 'string') readyLine ??= parsed;
      } catch {
        // Only the ready line matters here; other output is kept for the error message.
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', keep);
  const closed = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      exited = `exited (code ${code}, signal ${signal})`;
      resolve();
    });
  });
  const fail = async (why: string): Promise<never> => {
    child.kill('SIGKILL');
    await closed;
    throw new StartError(
      `${name} ${why} after ${Math.round(performance.now() - started)} ms\n--- output ---\n${output}`,
    );
  };

  while (!readyLine) {
    if (exited) return fail(exited);
    if (performance.now() > deadline) return fail('printed no ready line');
    await sleep(5);
  }
  const port = Number(new URL(readyLine.address as string).port);
  const url = `http://${HOST}:${port}`;
  for (;;) {
    if (exited) return fail(exited);
    const status = await get(`${url}/readyz`, { timeoutMs: 2000 }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (performance.now() > deadline) return fail('never answered 200 on /readyz');
    await sleep(10);
  }
  const readyMs = performance.now() - started;
  return {
    name,
    pid: child.pid!,
    url,
    readyMs,
    readyLine,
    rssBytes: () => rssOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    async stop() {
      if (exited) return;
      // Nothing to learn from a graceful stop here, and the real server's would take seconds.
      child.kill('SIGKILL');
      await closed;
    },
  };
}

/** The service as `npm start` runs it: `node dist/server.js`, with only the given variables set. */
export function startEcadraft(env: Env = {}, timeoutMs = 30_000): Promise<Child> {
  return startChild({ name: 'ecadraft', args: [SERVER_SCRIPT], env, readyMsg: 'ecadraft ready', timeoutMs });
}

/** A reference server from bench/servers/, run through tsx like the bench itself. */
export function startReference(name: 'ceiling' | 'baseline', env: Env, timeoutMs = 30_000): Promise<Child> {
  const script = path.join(ROOT, 'bench', 'servers', `${name}.ts`);
  return startChild({ name, args: ['--import', 'tsx', script], env, readyMsg: REFERENCE_READY, timeoutMs });
}
