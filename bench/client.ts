// The few single requests a run makes outside the load itself: probing the
// servers, copying the real server's answer for the ceiling, timing cold requests.
import http from 'node:http';

export interface RawResponse {
  status: number;
  /** Names and values as the server wrote them, in order. */
  rawHeaders: string[];
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface GetOptions {
  headers?: http.OutgoingHttpHeaders;
  /** A keep-alive agent, so timed requests do not also time a TCP handshake. */
  agent?: http.Agent;
  timeoutMs?: number;
}

export function get(url: string, { headers, agent, timeoutMs = 30_000 }: GetOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: agent ?? false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          rawHeaders: response.rawHeaders,
          headers: response.headers,
          body: Buffer.concat(chunks),
        }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** A 200 answer's body as JSON; anything else throws with the status and the start of the body. */
export async function getJson<T>(url: string, options?: GetOptions): Promise<T> {
  const response = await get(url, options);
  if (response.status !== 200)
    throw new Error(`GET ${url}: ${response.status} ${response.body.toString().slice(0, 200)}`);
  return JSON.parse(response.body.toString()) as T;
}

export interface EveItem {
  _id: string;
  [field: string]: unknown;
}

/** Every ticket a server holds, page by page, up to `limit`. */
export async function allTickets(baseUrl: string, limit = 100_000): Promise<EveItem[]> {
  const items: EveItem[] = [];
  for (let page = 1; items.length < limit; page++) {
    const body = await getJson<{ _items: EveItem[] }>(`${baseUrl}/tickets?max_results=50&page=${page}`);
    items.push(...body._items);
    if (body._items.length < 50) break;
  }
  return items.slice(0, limit);
}

/** Wall-clock milliseconds of one GET, with the status it answered. */
export async function timedGet(url: string, agent: http.Agent): Promise<{ ms: number; status: number }> {
  const start = performance.now();
  const { status } = await get(url, { agent });
  return { ms: performance.now() - start, status };
}
