// A stand-in for the mesh, for the tests and the local demo: each request goes
// to one backend picked by weight, as an Istio route with weights sends it,
// with the weights read from the repository's own VirtualService files. The
// weights can change while it runs (as `kubectl apply` changes a route), and
// the proxy can strip headers the way a gateway might.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAllDocuments } from 'yaml';

export interface Route {
  /** The DestinationRule subset, which names the version: v1, v2. */
  subset: string;
  weight: number;
}

interface VirtualServiceFile {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    http?: {
      match?: unknown;
      mirror?: unknown;
      route?: { destination?: { subset?: string }; weight?: number }[];
    }[];
  };
}

/**
 * The weighted routes of a step file's ingress VirtualService (`ecadraft`; the
 * file's `ecadraft-mesh` routes in-mesh callers the same way): its one HTTP rule's
 * destinations and weights (Istio's default weight is 100 for a lone
 * destination). A file that routes by header or mirrors traffic is refused:
 * a split by weight cannot stand in for it.
 */
export function routeWeights(file: string): Route[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as VirtualServiceFile | null);
  const doc = docs.find((d) => d?.kind === 'VirtualService' && d.metadata?.name === 'ecadraft');
  const rules = doc?.spec?.http ?? [];
  const rule = rules[0];
  if (doc?.kind !== 'VirtualService' || rules.length !== 1 || !rule?.route?.length || rule.match || rule.mirror) {
    throw new Error(`${file} is not a VirtualService with one HTTP rule that splits by weight`);
  }
  const routes = rule.route;
  return routes.map((r) => {
    const subset = r.destination?.subset;
    if (!subset) throw new Error(`${file}: a destination without a subset`);
    return { subset, weight: r.weight ?? (routes.length === 1 ? 100 : 0) };
  });
}

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
   * never on timing or concurrency; each reroute starts the draws again from
   * it, so a step splits the same way whatever came before. Without a seed,
   * each run draws differently.
   */
  seed?: number;
  /** Listen port on 127.0.0.1; 0 (the default) lets the OS pick. */
  port?: number;
}

export interface WeightedProxy {
  url: string;
  /** Requests forwarded per backend name: the ground truth a client's tally must match. */
  forwarded: Map<string, number>;
  /** New weights for the next requests, as applying another VirtualService does. */
  reroute(backends: readonly Backend[]): void;
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

/** The backends with a positive weight and their total; refuses a split that sends nowhere. */
function weighted(backends: readonly Backend[]): { routes: Backend[]; total: number } {
  const routes = backends.filter((b) => b.weight > 0);
  const total = routes.reduce((sum, b) => sum + b.weight, 0);
  if (total <= 0) throw new Error('weighted proxy: no backend has a positive weight');
  return { routes, total };
}

export async function startWeightedProxy(
  backends: readonly Backend[],
  options: ProxyOptions = {},
): Promise<WeightedProxy> {
  let split = weighted(backends);
  const draws = () => mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  let random = draws();
  const strip = new Set(options.stripHeaders ?? []);
  const agent = new http.Agent({ keepAlive: true });
  const forwarded = new Map<string, number>(backends.map((b) => [b.name, 0]));

  const pick = (): Backend => {
    const { routes, total } = split;
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    reroute(next) {
      split = weighted(next);
      if (options.seed !== undefined) random = draws();
      for (const b of next) if (!forwarded.has(b.name)) forwarded.set(b.name, 0);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
