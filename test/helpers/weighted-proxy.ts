// Test fixture only: a stand-in for the mesh. Each request goes to one backend
// picked by weight, as an Istio route with weights would send it, and the
// proxy can strip headers the way a gateway might.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  name: string;
  url: string;
  weight: number;
}

export interface ProxyOptions {
  /** Response headers to drop (lower case). */
  stripHeaders?: string[];
  /**
   * Seed of the weighted choice. Every request consumes exactly one draw, so
   * the counts per backend over N requests depend only on the seed and N,
   * never on timing or concurrency.
   */
  seed?: number;
}

export interface WeightedProxy {
  url: string;
  /** Requests forwarded per backend name: the ground truth a client's tally must match. */
  forwarded: Map<string, number>;
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, uniform enough for picking routes. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startWeightedProxy(
  backends: readonly Backend[],
  options: ProxyOptions = {},
): Promise<WeightedProxy> {
  const routes = backends.filter((b) => b.weight > 0);
  const total = routes.reduce((sum, b) => sum + b.weight, 0);
  if (total <= 0) throw new Error('weighted proxy: no backend has a positive weight');
  const random = mulberry32(options.seed ?? 1);
  const strip = new Set(options.stripHeaders ?? []);
  const agent = new http.Agent({ keepAlive: true });
  const forwarded = new Map<string, number>(backends.map((b) => [b.name, 0]));

  const pick = (): Backend => {
    let point = random() * total;
    for (const backend of routes) {
      point -= backend.weight;
      if (point < 0) return backend;
    }
    return routes[routes.length - 1]!;
  };

  const server = http.createServer((request, response) => {
    const backend = pick();
    forwarded.set(backend.name, (forwarded.get(backend.name) ?? 0) + 1);
    const upstream = http.request(
      new URL(request.url ?? '/', backend.url),
      { method: request.method, headers: request.headers, agent },
      (answer) => {
        const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !strip.has(name)));
        response.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('upstream connect error');
    });
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
