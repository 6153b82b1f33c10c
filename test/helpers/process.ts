// Real processes in tests: the service as its image and `npm start` start it (the child
// processes themselves are src/demo/processes.ts, shared with the benchmarks and
// the demo), each stopped in its test's teardown, plus the raw-socket client
// the process tests need for what an HTTP client library will not send.
import net from 'node:net';
import {
  type Env,
  type Exit,
  HOST,
  NodeProcess,
  ServerProcess,
  type SpawnOptions,
  waitOn,
  whenReady,
} from '../../src/demo/processes.ts';

export { type RequestOptions, type Response, request } from '../../src/demo/http-client.ts';
export {
  CLI_SCRIPT,
  childEnv,
  type Env,
  type Exit,
  HOST,
  imageCommand,
  NodeProcess,
  ROOT,
  SERVER_SCRIPT,
  ServerProcess,
  type SpawnOptions,
  sleep,
} from '../../src/demo/processes.ts';

/** What a test object must offer: tap's `t` does. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface StartOptions extends Omit<SpawnOptions, 'env' | 'args'> {
  /** Bound on reaching /readyz 200. Generous: the machine may be busy. */
  readyTimeoutMs?: number;
}

export interface RunningServer extends ServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
}

/** A server process whose teardown is registered on `t`, without waiting for it to be ready. */
export function spawnServer(
  t: Teardown,
  env: Env = {},
  options: Omit<SpawnOptions, 'env' | 'args'> = {},
): ServerProcess {
  const server = new ServerProcess(env, options);
  t.teardown(() => server.stop());
  return server;
}

/** A server that is listening and ready (its "ecadraft ready" line, then /readyz 200). */
export async function startServer(t: Teardown, env: Env = {}, options: StartOptions = {}): Promise<RunningServer> {
  const server = spawnServer(t, env, options);
  const { url, port } = await whenReady(server, { timeoutMs: options.readyTimeoutMs ?? 15_000 });
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

/** Any node script of the repository as a child, stopped in the test's teardown. */
export function spawnNode(t: Teardown, script: string, options: SpawnOptions = {}): NodeProcess {
  const child = new NodeProcess(script, options);
  t.teardown(() => child.stop());
  return child;
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
      // Queued for a listener that closed just then: not refused yet, the next attempt will be.
      else if (error.code === 'ECONNRESET') resolve(false);
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
