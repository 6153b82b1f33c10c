// Node child processes for the tests, the benchmarks and the demo: the service
// started the way its image and `npm start` start it (the Dockerfile's CMD,
// `node <flags> dist/server.js`, from the repository root), the CLI as a user
// runs it, and the benchmark's reference servers. Every child is registered
// so that the parent's exit takes its children with it, and every wait is
// bounded, so a hung child fails its caller instead of hanging it. Tests
// reach it through process.ts, which stops each child in its test's
// teardown; the benchmark through bench/children.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARIABLES } from '../config.ts';
import { request } from './http-client.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_SCRIPT = path.join(ROOT, 'dist', 'server.js');
export const CLI_SCRIPT = path.join(ROOT, 'dist', 'cli', 'ecadraft.js');
export const HOST = '127.0.0.1';

/** The command the image of the checkout at `root` runs: its Dockerfile's CMD, in exec form. */
export function imageCommand(root: string): string[] {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  if (cmd === undefined) throw new StartError(`${root}/Dockerfile has no CMD in exec form`);
  return JSON.parse(cmd);
}

/** The Node.js flags the image gives the service, between `node` and `dist/server.js`. */
export const imageNodeArgs = (root: string): string[] => imageCommand(root).slice(1, -1);

/** The service's configuration variables, from the one table config.ts reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.values(VARIABLES).map((v) => v.name);

export type Env = Record<string, string | undefined>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** A child that could not start: a missing or stale build, an exit before it was ready, no ready line in time. */
export class StartError extends Error {
  override name = 'StartError';
}

const live = new Set<ChildProcess>();
// Belt and braces: a caller that dies before stopping its children must not leave them behind.
process.once('exit', killAll);
// tap ends a test file that overran its timeout with SIGALRM (having reported the timeout), and a death
// by signal skips 'exit'; handling it keeps the process alive, so exit here, before more children start.
process.once('SIGALRM', () => {
  killAll();
  process.exit(128 + 14);
});

/** SIGKILL to every child still running. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Children still running. */
export const liveChildren = () => live.size;

/** Running yesterday's build would credit or blame the wrong code: every src/ module must be built since its last change. */
export function assertFreshBuild(): void {
  if (!existsSync(SERVER_SCRIPT)) throw new StartError(`${SERVER_SCRIPT} is missing: run \`npm run build\` first`);
  const src = path.join(ROOT, 'src');
  const stale = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) => {
    // The demo (src/demo/, this file's) runs from the source and is not built.
    if (file.startsWith(`demo${path.sep}`)) return false;
    // The /ui page's browser code (src/ui/) is bundled into one script and one style sheet.
    const ui = file.startsWith(`ui${path.sep}`);
    if (!file.endsWith('.ts') && !(ui && file.endsWith('.css'))) return false;
    const built = path.join(ROOT, 'dist', ui ? path.join('ui', 'app.js') : file.replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(path.join(src, file)).mtimeMs;
  });
  if (stale.length > 0)
    throw new StartError(
      `dist/ is missing or older than src/ for ${stale.join(', ')}: run \`npm run build\` first (npm test does)`,
    );
}

/**
 * The child's environment: the caller's, minus anything that would make the
 * child differ from a plain `node` run (a test runner's loader hooks in
 * NODE_OPTIONS, tap's TAP_* settings, configuration variables set in the
 * caller's shell), listening on 127.0.0.1 on a port the OS picks unless the
 * caller says otherwise.
 */
export function childEnv(env: Env = {}): Env {
  const base: Env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || /^_?TAP/i.test(key)) continue;
    if (CONFIG_VARIABLES.includes(key)) continue;
    base[key] = value;
  }
  return { ...base, HOST, PORT: '0', ...env };
}

/**
 * Resolves with the first value `probe` returns other than undefined, probing
 * again whenever the owner runs its waiters (on output, data or close); a
 * probe that throws rejects, and so does the timeout.
 */
export function waitOn<T>(
  waiters: Set<() => void>,
  probe: () => T | undefined,
  timeoutMs: number,
  timeoutMessage: () => string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      let value: T | undefined;
      try {
        value = probe();
      } catch (error) {
        finish();
        reject(error as Error);
        return;
      }
      if (value !== undefined) {
        finish();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(timeoutMessage()));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SpawnOptions {
  /** Arguments after the script. */
  args?: string[];
  /** Variables on top of childEnv()'s. */
  env?: Env;
  /** Node flags before the script, e.g. `--import` of a fault-injection module or of tsx. */
  nodeArgs?: string[];
  /**
   * A process group of its own, so a Ctrl-C in the terminal reaches only the
   * parent, which then stops the child as it sees fit.
   */
  detached?: boolean;
  /** A pipe to the child's stdin (`child.stdin`); otherwise stdin is closed. */
  input?: boolean;
}

/** `node [nodeArgs] <script> [args]` from the repository root, its output kept and its exit awaited. */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly #startedAt = performance.now();
  #stdout = '';
  #stderr = '';
  #exit: Exit | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(script: string, options: SpawnOptions = {}) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
      cwd: ROOT,
      env: childEnv(options.env),
      stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    live.add(this.child);
    // A child that exits before reading its stdin must not crash the parent with EPIPE.
    this.child.stdin?.on('error', () => undefined);
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout += chunk;
      this.#notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      // 'close' rather than 'exit': by then stdout and stderr are fully read.
      this.child.once('close', (code, signal) => {
        live.delete(this.child);
        this.#exit = { code, signal, ms: performance.now() - this.#startedAt };
        this.#notify();
        resolve(this.#exit);
      });
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  get pid(): number {
    return this.child.pid!;
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Complete stdout lines so far (a line still being written is left out). */
  stdoutLines(): string[] {
    const lines = this.#stdout.split('\n');
    lines.pop();
    return lines.filter((line) => line !== '');
  }

  /** Complete stdout lines parsed as JSON; a line that is not JSON throws, naming it. */
  logs(): Record<string, unknown>[] {
    return this.stdoutLines().map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
  }

  /** Everything the process printed so far, for failure messages. */
  output(): string {
    return `--- stdout ---\n${this.#stdout}--- stderr ---\n${this.#stderr}`;
  }

  /**
   * Resolves with the first value `probe` returns other than undefined,
   * re-checking whenever the process prints or exits; rejects after timeoutMs.
   */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
    return waitOn(
      this.#waiters,
      probe,
      timeoutMs,
      () => `timed out after ${timeoutMs} ms waiting for ${what}\n${this.output()}`,
    );
  }

  /** The first JSON log line whose `msg` is `msg` (and that passes `match`). */
  waitForLog(msg: string, timeoutMs: number, match: (line: Record<string, unknown>) => boolean = () => true) {
    return this.waitFor(
      `log line "${msg}"`,
      () => {
        const line = this.#parsedLines().find((l) => l.msg === msg && match(l));
        if (line) return line;
        if (this.#exit)
          throw new StartError(`exited (${JSON.stringify(this.#exit)}) before logging "${msg}"\n${this.output()}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  #parsedLines(): Record<string, unknown>[] {
    const parsed: Record<string, unknown>[] = [];
    for (const line of this.stdoutLines()) {
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Lines that are not JSON are a failure for the tests that check the log format, not here.
      }
    }
    return parsed;
  }

  /** The exit, or a rejection after timeoutMs (the child is then killed). */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    try {
      return await this.waitFor('the process to exit', () => this.#exit, timeoutMs);
    } catch (error) {
      this.child.kill('SIGKILL');
      throw error;
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.child.kill(signal)) throw new Error(`could not send ${signal} to process ${this.child.pid}`);
  }

  /** Ends the process if still running (SIGKILL: nothing to learn from it any more). */
  async stop(): Promise<void> {
    if (this.#exit) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** A running ecadraft service: its own process, started as its image and `npm start` start it. */
export class ServerProcess extends NodeProcess {
  constructor(env: Env = {}, options: Omit<SpawnOptions, 'env' | 'args'> = {}) {
    assertFreshBuild();
    super(SERVER_SCRIPT, { ...options, nodeArgs: [...imageNodeArgs(ROOT), ...(options.nodeArgs ?? [])], env });
  }
}

/**
 * Waits until a server child listens and is ready: its JSON line `readyMsg`
 * (whose `address` gives the port the OS picked for PORT=0), then /readyz 200.
 * Resolves with its base URL `http://127.0.0.1:<port>` and that line; rejects
 * with a StartError holding everything the child printed.
 */
export async function whenReady(
  child: NodeProcess,
  { readyMsg = 'ecadraft ready', timeoutMs = 15_000 }: { readyMsg?: string; timeoutMs?: number } = {},
): Promise<{ url: string; port: number; readyLine: Record<string, unknown> }> {
  const deadline = performance.now() + timeoutMs;
  const readyLine = await child.waitForLog(readyMsg, timeoutMs).catch((error: Error) => {
    throw error instanceof StartError ? error : new StartError(error.message);
  });
  const port = Number(new URL(String(readyLine.address)).port);
  const url = `http://${HOST}:${port}`;
  for (;;) {
    const response = await request(`${url}/readyz`, { timeoutMs: 2000 }).catch(() => undefined);
    if (response?.status === 200) return { url, port, readyLine };
    if (child.exit)
      throw new StartError(`exited (${JSON.stringify(child.exit)}) before /readyz was 200\n${child.output()}`);
    if (performance.now() > deadline) throw new StartError(`/readyz not 200 within ${timeoutMs} ms\n${child.output()}`);
    await sleep(20);
  }
}
