// GET and HEAD of the two Eve routes answered before the web framework sees
// them: a cache hit costs a lookup, a validator check and one write, and a
// miss the store's own work on top, so a load test measures the mesh, not us.
// Nothing here needs a Fastify feature: the version header, `Connection:
// close` while draining, the URL length limit, the metrics and conditional
// requests are all done here. Everything else (errors, bodies, other routes
// and methods, targets spelled any other way) goes through Fastify.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isNotModified } from './conditional.ts';
import type { Draining } from './draining.ts';
import { VERSION_HEADER } from './format.ts';
import type { Metrics } from './metrics.ts';
import { JSON_CONTENT_TYPE } from './serialize.ts';
import { type Representation, type Store, validatorHeaders } from './store.ts';

/** Whether a request carries a body, announced by length or sent in chunks. */
export function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

export type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface FastPathOptions {
  store: Store;
  version: string;
  draining: Draining;
  metrics: Metrics;
  maxUrlLength: number;
}

interface Prepared {
  ok: string[];
  notModified: string[];
}

export function createFastPath({ store, version, draining, metrics, maxUrlLength }: FastPathOptions): FastPath {
  // Header lists are built once per cached answer; writeHead takes them flat.
  const prepared = new WeakMap<Representation, Prepared>();
  const prepare = (rep: Representation): Prepared => {
    const validators = validatorHeaders(rep).flat();
    const head = [VERSION_HEADER, version, ...validators];
    return {
      ok: [...head, 'content-type', JSON_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(rep.body))],
      notModified: head,
    };
  };
  const remember = (rep: Representation): Prepared => {
    const ready = prepare(rep);
    prepared.set(rep, ready);
    return ready;
  };

  return (request, response) => {
    const { method, url = '' } = request;
    if ((method !== 'GET' && method !== 'HEAD') || url.length > maxUrlLength) return false;
    // A request with a body needs the body limit that Fastify's hooks apply.
    if (hasRequestBody(request.headers)) return false;
    const start = performance.now();
    let rep: Representation | undefined;
    try {
      rep = store.answer(url);
    } catch {
      // A bad parameter: Fastify asks the store again and answers with its error.
      return false;
    }
    // Not an Eve route, or no such ticket: Fastify's 404.
    if (!rep) return false;
    // Cached answers keep their header lists; a one-off answer's is built once anyway.
    const headers = typeof rep.body === 'string' ? prepare(rep) : (prepared.get(rep) ?? remember(rep));
    const notModified = isNotModified(request.headers['if-none-match'], request.headers['if-modified-since'], rep);
    const list = notModified ? headers.notModified : headers.ok;
    // While draining, each answer ends its connection so clients reconnect to a pod that stays.
    response.writeHead(notModified ? 304 : 200, draining.active ? [...list, 'connection', 'close'] : list);
    response.end(notModified || method === 'HEAD' ? undefined : rep.body);
    metrics.record(rep.path, method, notModified ? 304 : 200, (performance.now() - start) / 1000);
    return true;
  };
}
