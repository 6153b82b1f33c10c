// The few single requests a run makes outside the load itself (probing the
// servers, copying the real server's answer for the ceiling, timing cold
// requests), on the one HTTP client in src/demo/http-client.ts.
import type http from 'node:http';
import { type RequestOptions, request } from '../src/demo/http-client.ts';

/** A 200 answer's body as JSON; anything else throws with the status and the start of the body. */
export async function getJson<T>(url: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(url, { timeoutMs: 30_000, ...options });
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${response.body.slice(0, 200)}`);
  return JSON.parse(response.body) as T;
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

/** Wall-clock milliseconds of one GET on a kept-alive agent (no TCP handshake timed), with its status. */
export async function timedGet(url: string, agent: http.Agent): Promise<{ ms: number; status: number }> {
  const start = performance.now();
  const { status } = await request(url, { agent, timeoutMs: 30_000 });
  return { ms: performance.now() - start, status };
}
