// A request head over Node's header limit (32 KiB for the request line and
// headers together) is refused by the HTTP parser, which does not say whether
// the URL or a header ran over. The answer must still be 414 for a URL and
// 431 for headers, however the client's bytes are cut into reads: a loaded
// server often reads the first few KB of a big request on their own, so the
// read in which the limit runs out may hold no request line at all. Node reads
// at most 64 KB at a time, so each case's cuts decide what the server sees.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openRaw } from './helpers/process.ts';

const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: 'v1' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
t.teardown(() => app.close());

const bigHeader = `GET /tickets HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(64 * 1024)}\r\n\r\n`;
const manyHeaders = `GET /tickets HTTP/1.1\r\nHost: x\r\n${'X-A: bbbbbbbb\r\n'.repeat(5000)}\r\n`;
const urlOf = (kb: number) => `GET /tickets?where=${'a'.repeat(kb * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`;
const longUrl = urlOf(100);
const normal = 'GET /tickets?max_results=1 HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * Sends `request` cut at `cuts`, pausing between pieces so that the server
 * reads each on its own, after `before` on the same connection.
 */
async function answerTo(t: Test, request: string, cuts: number[], before?: string) {
  const connection = openRaw(t, port);
  await connection.connected;
  if (before !== undefined) {
    connection.write(before);
    t.equal((await connection.readResponse()).status, 200, 'the request before it is served');
  }
  for (const [index, end] of [...cuts, request.length].entries()) {
    connection.write(request.slice(index === 0 ? 0 : cuts[index - 1], end));
    await sleep(30);
  }
  const answer = await connection.readResponse();
  const { code, message } = (JSON.parse(answer.body) as { _error: { code: number; message: string } })._error;
  return { status: answer.status, code, message };
}

const URL_TOO_LONG = [414, 'The request URL is longer than 16384 characters.'] as const;
const HEAD_TOO_LARGE = [431, 'The request headers and URL together exceed 32768 bytes.'] as const;

const cases: [name: string, request: string, cuts: number[], answer: readonly [number, string]][] = [
  ['a 64 KB header in one write', bigHeader, [], HEAD_TOO_LARGE],
  ['a 64 KB header whose request line comes in a read of its own', bigHeader, [40], HEAD_TOO_LARGE],
  ['a 64 KB header whose first 1,000 bytes come in a read of their own', bigHeader, [1000], HEAD_TOO_LARGE],
  ['5,000 small headers, read in three pieces', manyHeaders, [1000, 20_000], HEAD_TOO_LARGE],
  ['a 100 KB URL in one write', longUrl, [], URL_TOO_LONG],
  ['a 40 KB URL whose end comes in the read that runs over', urlOf(40), [1000, 20_000], URL_TOO_LONG],
  // The read that runs over holds neither the start nor the end of its line: a
  // URL and a header look alike there, and the message names both.
  ['a 100 KB URL whose first 1,000 bytes come in a read of their own', longUrl, [1000], HEAD_TOO_LARGE],
];

for (const [name, request, cuts, [status, message]] of cases) {
  t.test(name, async (t) => {
    const expected = { status, code: status, message };
    t.same(await answerTo(t, request, cuts), expected, 'on a new connection');
    t.same(await answerTo(t, request, cuts, normal), expected, 'after a request on the connection');
  });
}
