// Real server processes for tests, started the way `npm start` starts one
// (`node dist/server.js` from the repository root), plus the small HTTP and
// raw-socket clients the process tests need. Every wait here is bounded, and
// every child is killed in the test's teardown, so a hung server fails a test
// instead of hanging the suite.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVER_SCRIPT = path.join(ROOT, 'dist', 'server.js');
export const HOST = '127.0.0.1';

/** The variables of service.md's configuration table, and the fault knobs the README adds. */
export const CONFIG_VARIABLES = [
  'VERSION',
  'PORT',
  'HOST',
  'TICKET_COUNT',
  'SEED',
  'LOG_LEVEL',
  'SHUTDOWN_DELAY_MS',
  'SHUTDOWN_TIMEOUT_MS',
  'FAULT_ERROR_RATE',
  'FAULT_DELAY_MS',
] as const;

/** What a test object must offer: tap's `t` does. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export type Env = Record<string, string | undefined>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

export interface SpawnOptions {
  /** Extra node flags before the script, e.g. `--import` of a fault-injection module. */
  nodeArgs?: string[];
}

export interface StartOptions extends SpawnOptions {
  /** Bound on reaching /readyz 200. Generous: the machine may be busy. */
  readyTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
// Belt and braces: a test that dies before its teardown must not leave servers behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

let checkedBuild = false;
/** A stale dist/ would test yesterday's code and pass or fail for the wrong reason. */
function assertBuilt(): void {
  if (checkedBuild) return;
  if (!existsSync(SERVER_SCRIPT)) {
    throw new Error(`${SERVER_SCRIPT} is missing: run \`npm run build\` first (npm test does)`);
  }
  const built = statSync(SERVER_SCRIPT).mtimeMs;
  const srcDir = path.join(ROOT, 'src');
  const sources = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const newer = sources.filter((f) => statSync(path.join(srcDir, f)).mtimeMs > built);
  if (newer.length > 0) {
    throw new Error(`dist/ is older than src/ (${newer.join(', ')}): run \`npm run build\` first (npm test does)`);
  }
  checkedBuild = true;
}

/**
 * The child's environment: the test runner's, minus anything that would make
 * the child differ from `npm start` (tap's loader hooks in NODE_OPTIONS, its
 * TAP_* settings, config variables set in the caller's shell), listening on
 * 127.0.0.1 on a port the OS picks unless the test says otherwise.
 */
export function childEnv(env: Env = {}): Env {
  const base: Env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || /^_?TAP/i.test(key)) continue;
    if ((CONFIG_VARIABLES as readonly string[]).includes(key)) continue;
    base[key] = value;
  }
  return { ...base, HOST, PORT: '0', ...env };
}

/**
 * Resolves with the first value `probe` returns other than undefined, probing
 * again whenever the owner runs its waiters (on output, data or close); a
 * probe that throws rejects, and so does the timeout.
 */
function waitOn<T>(
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

export class ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly #startedAt = performance.now();
  #stdout = '';
  #stderr = '';
  #exit: Exit | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(env: Env, options: SpawnOptions = {}) {
    assertBuilt();
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_SCRIPT], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.child);
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
          throw new Error(`server exited (${JSON.stringify(this.#exit)}) before logging "${msg}"\n${this.output()}`);
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
    if (!this.child.kill(signal)) throw new Error(`could not send ${signal} to the server`);
  }

  /** Ends the process if still running (SIGKILL: nothing to learn from it any more). */
  async stop(): Promise<void> {
    if (this.#exit) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface RunningServer extends ServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
}

/** A server process whose teardown is registered on `t`, without waiting for it to be ready. */
export function spawnServer(t: Teardown, env: Env = {}, options: SpawnOptions = {}): ServerProcess {
  const server = new ServerProcess(env, options);
  t.teardown(() => server.stop());
  return server;
}

/**
 * A server that is listening and ready: waits for the "ecadraft ready" log line
 * (its `address` gives the port the OS picked for PORT=0), then for /readyz 200.
 */
export async function startServer(t: Teardown, env: Env = {}, options: StartOptions = {}): Promise<RunningServer> {
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = performance.now() + timeoutMs;
  const server = spawnServer(t, env, options);
  const ready = await server.waitForLog('ecadraft ready', timeoutMs);
  const address = new URL(String(ready.address));
  const port = Number(address.port);
  const url = `http://${HOST}:${port}`;
  for (;;) {
    const response = await request(`${url}/readyz`).catch(() => undefined);
    if (response?.status === 200) break;
    if (server.exit)
      throw new Error(`server exited (${JSON.stringify(server.exit)}) before /readyz was 200\n${server.output()}`);
    if (performance.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms\n${server.output()}`);
    await sleep(20);
  }
  return Object.assign(server, { url, port });
}

/** A process expected to stop by itself (bad configuration): its exit and everything it printed. */
export async function runToExit(
  t: Teardown,
  env: Env,
  timeoutMs = 10_000,
): Promise<Exit & { stdout: string; stderr: string }> {
  const server = spawnServer(t, env);
  const exit = await server.waitForExit(timeoutMs);
  return { ...exit, stdout: server.stdout, stderr: server.stderr };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  /** Defaults to a fresh connection per request, so no test depends on pooling. */
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** One HTTP request; rejects on a connection error or after timeoutMs. */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Whether a new TCP connection to the port is refused right now. */
export function connectionRefused(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${HOST}:${port} neither succeeded nor failed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ECONNREFUSED') resolve(true);
      else reject(error);
    });
  });
}

/**
 * A raw TCP connection for what an HTTP client library will not send: partial
 * request heads, oversized lines, bytes a URL parser would normalize.
 */
export class RawConnection {
  readonly socket: net.Socket;
  #received = Buffer.alloc(0);
  #closed = false;
  #peerEnded = false;
  #error: NodeJS.ErrnoException | undefined;
  readonly #waiters = new Set<() => void>();
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, HOST);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('close', () => {
        this.#closed = true;
        this.#notify();
        resolve();
      });
    });
    // A reset by the server is an outcome the tests look at, not a crash.
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      this.#error ??= error;
    });
    this.socket.once('end', () => {
      this.#peerEnded = true;
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#notify();
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  get received(): string {
    return this.#received.toString('latin1');
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether the server closed its side cleanly (a FIN), rather than resetting or never closing. */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  /** The first socket error, e.g. ECONNRESET when the server reset the connection. */
  get error(): NodeJS.ErrnoException | undefined {
    return this.#error;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next complete response (Content-Length framed), removed from the buffer; `bodiless` for HEAD. */
  readResponse(timeoutMs = 5000, bodiless = false): Promise<RawResponse> {
    const probe = () => {
      const parsed = parseRawResponse(this.#received, this.#closed, bodiless);
      if (parsed) {
        this.#received = this.#received.subarray(parsed.length);
        return parsed.response;
      }
      if (this.#closed)
        throw new Error(`connection closed before a complete response; received ${JSON.stringify(this.received)}`);
      return undefined;
    };
    return waitOn(
      this.#waiters,
      probe,
      timeoutMs,
      () => `no complete response within ${timeoutMs} ms; received ${JSON.stringify(this.received.slice(0, 300))}`,
    );
  }

  /** Resolves when the peer closes the connection; rejects after timeoutMs. */
  waitClosed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface RawResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  head: string;
}

/** One response off the front of `data`, or undefined if it is not complete yet. */
export function parseRawResponse(
  data: Buffer,
  closed: boolean,
  bodiless = false,
): { response: RawResponse; length: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = data.subarray(0, end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyStart = end + 4;
  const noBody = bodiless || status === 304 || status === 204;
  const length = noBody ? 0 : headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
  if (length === undefined && !closed) return undefined;
  const bodyEnd = length === undefined ? data.length : bodyStart + length;
  if (data.length < bodyEnd) return undefined;
  return {
    response: { status, headers, body: data.subarray(bodyStart, bodyEnd).toString('utf8'), head },
    length: bodyEnd,
  };
}

/** Sends `data` on a fresh connection and reads one response; `bodiless` for HEAD. */
export async function rawExchange(
  port: number,
  data: string | Buffer,
  timeoutMs = 5000,
  bodiless = false,
): Promise<RawResponse> {
  const connection = new RawConnection(port);
  try {
    await connection.connected;
    connection.write(data);
    return await connection.readResponse(timeoutMs, bodiless);
  } finally {
    connection.destroy();
  }
}

/** A raw connection destroyed in the test's teardown. */
export function openRaw(t: Teardown, port: number): RawConnection {
  const connection = new RawConnection(port);
  t.teardown(() => connection.destroy());
  return connection;
}
