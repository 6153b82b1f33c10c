// One cell of the benchmark: autocannon against one server for one scenario.
import autocannon from 'autocannon';
import type { CpuSeconds } from './children.ts';
import type { LoadRequest } from './scenarios.ts';
import { latencyPercentiles } from './stats.ts';

// Few enough connections that autocannon, on the same two cores, is not the
// first thing to run out of CPU; no pipelining, as the mesh's clients send.
export const CONNECTIONS = { connections: 10, pipelining: 1 } as const;

export interface LoadSettings {
  connections: number;
  pipelining: number;
  durationS: number;
}

export interface CellResult {
  requests: number;
  rps: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Answers whose status the scenario does not expect (a 304 is expected for revalidation). */
  unexpected: number;
  statuses: Record<string, number>;
  /** Requests of a `unique` scenario that repeated an earlier path: the prebuilt paths ran out. */
  repeated: number;
  /**
   * Cores busy during the cell: the server's, and this process's (autocannon).
   * With two cores, a ceiling whose client is near 1.0 while the server is not
   * is the load generator's limit, not the server's.
   */
  serverCpu: number | undefined;
  /**
   * Of `serverCpu`, the server's main thread: near 1.00 the event loop is
   * saturated, and the rest of `serverCpu` ran beside it on another core.
   */
  serverMainCpu: number | undefined;
  clientCpu: number;
}

// Unique paths prebuilt per connection assume no server answers faster than
// this; a faster one is caught by `repeated` rather than silently measured on cache hits.
const MAX_EXPECTED_RPS = 50_000;

export function runLoad(
  baseUrl: string,
  request: LoadRequest,
  expects: (status: number) => boolean,
  settings: LoadSettings,
  serverCpuSeconds: () => CpuSeconds | undefined = () => undefined,
): Promise<CellResult> {
  const { connectionPaths } = request;
  const perConnection = Math.ceil((MAX_EXPECTED_RPS * settings.durationS) / settings.connections) + 100;
  // autocannon's own histogram has a 1 ms resolution, too coarse for loopback
  // answers that take a fraction of one: keep every response time instead.
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses = new Map<number, number>();
  const perClient = new Map<object, number>();
  let started = 0;
  let serverCpuAtStart: CpuSeconds | undefined;
  let clientCpuAtStart = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: baseUrl + request.path,
        connections: settings.connections,
        pipelining: settings.pipelining,
        duration: settings.durationS,
        // A run ends at the first sample tick after its duration: 100 ms keeps short cells short.
        sampleInt: 100,
        ...(request.headers && { headers: request.headers }),
        ...(connectionPaths && {
          setupClient: (client) => client.setRequests(connectionPaths(perConnection).map((path) => ({ path }))),
        }),
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        // From 'start', which autocannon emits once the connections' requests are built, so building them is not timed.
        const seconds = (performance.now() - started) / 1000;
        const serverCpu = serverCpuSeconds();
        const coresOf = (pick: (cpu: CpuSeconds) => number) =>
          serverCpu === undefined || serverCpuAtStart === undefined
            ? undefined
            : (pick(serverCpu) - pick(serverCpuAtStart)) / seconds;
        const client = process.cpuUsage(clientCpuAtStart);
        let unexpected = 0;
        for (const [status, n] of statuses) if (!expects(status)) unexpected += n;
        let repeated = 0;
        if (request.unique) for (const n of perClient.values()) repeated += Math.max(0, n - perConnection);
        resolve({
          requests: count,
          rps: count / seconds,
          ...latencyPercentiles(latencies.subarray(0, count)),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          unexpected,
          statuses: Object.fromEntries(statuses),
          repeated,
          serverCpu: coresOf((cpu) => cpu.all),
          serverMainCpu: coresOf((cpu) => cpu.mainThread),
          clientCpu: (client.user + client.system) / 1e6 / seconds,
        });
      },
    );
    instance.on('start', () => {
      started = performance.now();
      serverCpuAtStart = serverCpuSeconds();
      clientCpuAtStart = process.cpuUsage();
    });
    instance.on('response', (client, status, _bytes, ms) => {
      if (count === latencies.length) {
        const grown = new Float64Array(count * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (request.unique) perClient.set(client, (perClient.get(client) ?? 0) + 1);
    });
  });
}

/** Whether a cell, or a sum of cells, saw anything that makes the scenario fail. */
export const failed = (cell: Pick<CellResult, 'errors' | 'unexpected'>): boolean =>
  cell.errors > 0 || cell.unexpected > 0;
