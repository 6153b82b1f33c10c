// HTTP in tests, on top of the one client in http-client.ts: the body as
// bytes for tests where exact bytes matter, and throwaway servers on loopback.
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from '../../src/demo/http-client.ts';

export { type RequestOptions, type Response, request } from '../../src/demo/http-client.ts';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection, the body exactly as received. */
export async function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const { status, headers, bytes } = await request(url, { ...options, timeoutMs: 10_000 });
  return { status, headers, body: bytes };
}

/** Listens on a port of 127.0.0.1 the OS picks; resolves with the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server and every connection it still holds. */
export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
