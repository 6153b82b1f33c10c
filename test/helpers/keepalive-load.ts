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
  /** Pause after every request (drawn each time): pooled connections then sit idle, as between a quiet client's requests. */
  pauseMs?: () => number;
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

/** Load over one keep-alive agent of `sockets` sockets: `loop` sends until `stopped()`; stop() waits for it, then closes the sockets. */
function loadOver(
  sockets: number,
  loop: (agent: http.Agent, outcomes: Outcome[], stopped: () => boolean) => Promise<unknown>,
): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const outcomes: Outcome[] = [];
  let stopped = false;
  const running = loop(agent, outcomes, () => stopped);
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

export function startLoad(
  url: string,
  { clients, timeoutMs = 5000, pauseAfterErrorMs = 10, pauseMs }: LoadOptions,
): Load {
  return loadOver(clients, (agent, outcomes, stopped) => {
    const client = async () => {
      while (!stopped()) {
        const outcome = await send(url, agent, timeoutMs);
        outcomes.push(outcome);
        const pause = (pauseMs?.() ?? 0) + (outcome.error !== undefined ? pauseAfterErrorMs : 0);
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
    };
    return Promise.all(Array.from({ length: clients }, client));
  });
}

/**
 * Bursts of `size` requests at once over one keep-alive agent, each burst
 * `pauseMs()` after the last one ended: the connections a burst opened then
 * sit idle together, and the next burst reuses them all at the same moment.
 */
export function startBursts(
  url: string,
  { size, pauseMs, timeoutMs = 5000 }: { size: number; pauseMs: () => number; timeoutMs?: number },
): Load {
  return loadOver(size, async (agent, outcomes, stopped) => {
    while (!stopped()) {
      outcomes.push(...(await Promise.all(Array.from({ length: size }, () => send(url, agent, timeoutMs)))));
      await new Promise((resolve) => setTimeout(resolve, pauseMs()));
    }
  });
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
