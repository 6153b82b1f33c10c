// Steady load for the process tests: a fixed number of clients, each sending
// its next request as soon as the last one is answered, over a keep-alive
// agent as a proxy's connection pool would. Every request is recorded with the
// wall-clock times it started and was written, so a test can line requests up
// with the times a server logs (its stop signal, the closing of its listener).
// Nothing is retried: a failure is recorded and counted.
import http from 'node:http';

export interface Outcome {
  /**
   * Date.now() before the request was made: no earlier than this did it, or
   * the connection it opened, leave this process.
   */
  startedAt: number;
  /**
   * Date.now() just after the request was written to an open connection: an
   * already open one the agent handed it, or a new one as soon as it opened
   * (Node holds the request until then). On a busy machine this process may
   * be descheduled anywhere, so each time is taken on the side that cannot
   * make the server look worse than it is: a request's write no later than
   * `sentAt`, its start no earlier than `startedAt`. For a new connection that
   * failed before it opened, `sentAt` is `startedAt`.
   */
  sentAt: number;
  /** Whether the request was written: not when its new connection failed before it opened. */
  written: boolean;
  /** Date.now() when the response ended or the request failed. */
  doneAt: number;
  status?: number;
  /** The error code (ECONNRESET, ECONNREFUSED...) or message when there was no complete response. */
  error?: string;
  /** The response asked to close the connection. */
  connectionClose: boolean;
  /** Sent on a connection that had already carried a request. */
  reused: boolean;
}

export interface LoadOptions {
  /** Concurrent clients, and the agent's socket limit. */
  clients: number;
  /** Per request; a hung server fails a request instead of the test. */
  timeoutMs?: number;
  /** Pause after a failed request, so a refused port is not hammered in a tight loop. */
  pauseAfterErrorMs?: number;
}

export interface Load {
  readonly outcomes: readonly Outcome[];
  /** Stops sending, waits for the requests in flight, and returns every outcome. */
  stop(): Promise<Outcome[]>;
}

function send(url: string, agent: http.Agent, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    let sentAt = startedAt;
    let written = false;
    let reused = false;
    const fail = (error: NodeJS.ErrnoException) =>
      resolve({
        startedAt,
        sentAt,
        written,
        doneAt: Date.now(),
        error: error.code ?? error.message,
        connectionClose: false,
        reused,
      });
    const request = http.get(url, { agent, timeout: timeoutMs }, (response) => {
      response.on('data', () => {});
      response.on('error', fail);
      response.on('end', () =>
        resolve({
          startedAt,
          sentAt,
          written,
          doneAt: Date.now(),
          status: response.statusCode,
          connectionClose: response.headers.connection === 'close',
          reused,
        }),
      );
    });
    // Node writes the request after the 'socket' event (an open connection) or in a 'connect'
    // listener added after ours (a new one): the next tick comes after the write either way.
    const wrote = () =>
      process.nextTick(() => {
        sentAt = Date.now();
        written = true;
      });
    request.on('socket', (socket) => {
      reused = request.reusedSocket;
      if (socket.connecting) socket.once('connect', wrote);
      else wrote();
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    request.on('error', fail);
  });
}

export function startLoad(url: string, { clients, timeoutMs = 5000, pauseAfterErrorMs = 10 }: LoadOptions): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const outcomes: Outcome[] = [];
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const outcome = await send(url, agent, timeoutMs);
      outcomes.push(outcome);
      if (outcome.error !== undefined) await new Promise((resolve) => setTimeout(resolve, pauseAfterErrorMs));
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    outcomes,
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
      return outcomes;
    },
  };
}

/** Counts by status or error, for messages and comments: `{"200": 5120, "ECONNREFUSED": 3}`. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.error ?? String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
