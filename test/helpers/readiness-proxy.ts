// Test fixture only: a stand-in for the mesh during a rolling restart. It
// balances requests round-robin over the endpoints whose /readyz last answered
// 200, polls every endpoint's /readyz a period apart (as the kubelet's
// readiness probe, with failureThreshold 1, feeds the endpoints Envoy sees),
// and takes an endpoint out of rotation at its first failed poll. Upstream
// connections are pooled with keep-alive, as Envoy pools them. It never
// retries: a request that fails upstream is answered 502 and counted, so the
// client sees every failure the restart causes.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyOptions {
  /** Readiness poll period. */
  pollMs: number;
}

export interface UpstreamFailure {
  endpoint: string;
  error: string;
  /** Date.now() when it failed. */
  at: number;
}

interface Endpoint {
  name: string;
  url: URL;
  agent: http.Agent;
  ready: boolean;
  /** Date.now() of the poll that took it out of rotation. */
  removedAt?: number;
  /** Date.now() of the poll that put it in rotation. */
  addedAt?: number;
}

export interface ReadinessProxy {
  readonly url: string;
  /** Requests forwarded, per endpoint name. */
  readonly forwarded: Map<string, number>;
  readonly failures: readonly UpstreamFailure[];
  /** Requests answered 503 because no endpoint was in rotation. */
  readonly noEndpoint: () => number;
  /** Registers an endpoint; it takes traffic once a poll finds it ready. */
  add(name: string, url: string): void;
  /** Forgets an endpoint (its pod object is gone): no more polls, no more traffic. */
  remove(name: string): void;
  /** Resolves with Date.now() of the poll that put `name` in rotation. */
  inRotation(name: string, timeoutMs: number): Promise<number>;
  /** Resolves with Date.now() of the poll that took `name` out of rotation. */
  outOfRotation(name: string, timeoutMs: number): Promise<number>;
  /** Resolves when the next poll round has finished; the one after it starts a full period later. */
  pollFinished(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** timeoutSeconds of the Deployments' readiness probe. */
const PROBE_TIMEOUT_MS = 2000;

function probe(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // A fresh connection per probe, as the kubelet makes.
    const request = http.get(new URL('/readyz', url), { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

export async function startReadinessProxy({ pollMs }: ProxyOptions): Promise<ReadinessProxy> {
  const endpoints = new Map<string, Endpoint>();
  const forwarded = new Map<string, number>();
  const failures: UpstreamFailure[] = [];
  let noEndpoint = 0;
  let next = 0;
  const waiters = new Set<() => void>();
  let roundsPolled = 0;
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const pick = (): Endpoint | undefined => {
    const ready = [...endpoints.values()].filter((e) => e.ready);
    if (ready.length === 0) return undefined;
    return ready[next++ % ready.length];
  };

  const server = http.createServer((request, response) => {
    const endpoint = pick();
    if (!endpoint) {
      noEndpoint++;
      response.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream');
      return;
    }
    forwarded.set(endpoint.name, (forwarded.get(endpoint.name) ?? 0) + 1);
    const upstream = http.request(
      new URL(request.url ?? '/', endpoint.url),
      {
        method: request.method,
        headers: endToEnd(request.headers),
        agent: endpoint.agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(response);
        answer.on('error', () => response.destroy());
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      failures.push({ endpoint: endpoint.name, error: error.code ?? error.message, at: Date.now() });
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response
        .writeHead(502, { 'content-type': 'text/plain' })
        .end('upstream connect error or disconnect/reset before headers');
    });
    request.pipe(upstream);
  });

  let polling = true;
  const poll = async () => {
    while (polling) {
      await Promise.all(
        [...endpoints.values()].map(async (endpoint) => {
          // The manifests' readiness timeout: a loaded machine answers a probe late, not never.
          const ready = await probe(endpoint.url, PROBE_TIMEOUT_MS);
          // Forgotten while the probe ran: nothing to update.
          if (endpoints.get(endpoint.name) !== endpoint) return;
          if (ready && !endpoint.ready) endpoint.addedAt = Date.now();
          if (!ready && endpoint.ready) endpoint.removedAt = Date.now();
          endpoint.ready = ready;
        }),
      );
      roundsPolled++;
      notify();
      // A full period from the end of the round, not its start as the kubelet's
      // ticker: a slow round (a loaded machine) then never shortens the next
      // wait, and the lag it adds is one the rehearsal must survive anyway.
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
  const polled = poll();

  const waitFor = (what: string, probeFn: () => number | undefined, timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const value = probeFn();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`proxy: ${what} not within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    failures,
    noEndpoint: () => noEndpoint,
    add(name, url) {
      endpoints.set(name, { name, url: new URL(url), agent: new http.Agent({ keepAlive: true }), ready: false });
      forwarded.set(name, 0);
    },
    remove(name) {
      endpoints.get(name)?.agent.destroy();
      endpoints.delete(name);
    },
    inRotation: (name, timeoutMs) =>
      waitFor(
        `${name} in rotation`,
        () => {
          const e = endpoints.get(name);
          return e?.ready ? e.addedAt : undefined;
        },
        timeoutMs,
      ),
    outOfRotation: (name, timeoutMs) =>
      waitFor(
        `${name} out of rotation`,
        () => {
          const e = endpoints.get(name);
          return e && !e.ready && e.removedAt !== undefined ? e.removedAt : undefined;
        },
        timeoutMs,
      ),
    async pollFinished(timeoutMs) {
      const before = roundsPolled;
      await waitFor('a poll round', () => (roundsPolled > before ? roundsPolled : undefined), timeoutMs);
    },
    async close() {
      polling = false;
      await polled;
      for (const endpoint of endpoints.values()) endpoint.agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
