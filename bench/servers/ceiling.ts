// The ceiling: node:http answering every request with the exact bytes and
// headers the real server gives GET /tickets, prebuilt once. No server can
// answer that page for less on this machine, so the real server's req/s over
// this one's says how much of Node's raw limit it keeps.
import { createServer } from 'node:http';
import { request } from '../../src/demo/http-client.ts';
import { announce, listenOptions, sourceUrl } from './reference.ts';

const source = await request(`${sourceUrl()}/tickets`, { timeoutMs: 30_000 });
if (source.status !== 200) throw new Error(`GET /tickets from the real server answered ${source.status}`);
const body = source.bytes;

// Node writes these itself on every response, with the same values once the keep-alive timeout matches.
const NODE_WRITES = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
const headers: string[] = [];
for (let i = 0; i < source.rawHeaders.length; i += 2) {
  if (!NODE_WRITES.has(source.rawHeaders[i]!.toLowerCase()))
    headers.push(source.rawHeaders[i]!, source.rawHeaders[i + 1]!);
}
const keepAliveS = /timeout=(\d+)/.exec(String(source.headers['keep-alive']))?.[1];

const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
if (keepAliveS !== undefined) server.keepAliveTimeout = Number(keepAliveS) * 1000;
const { host, port } = listenOptions();
server.listen(port, host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  announce(`http://${host}:${address.port}`);
});
