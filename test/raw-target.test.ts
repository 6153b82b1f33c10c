// Bytes a URL may not hold as they are (non-ASCII, control characters), sent
// raw over a socket to a real listening server: Node's HTTP parser refuses
// them before any route runs, and the 400 must say which byte, where, and how
// to send it instead.
import t, { type Test } from 'tap';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openRaw, type RawResponse, rawExchange } from './helpers/process.ts';

const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: 'v2' }));
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
t.teardown(() => app.close());

/** A target as the test writes it: bytes outside printable ASCII as \xNN. */
const shown = (target: string) =>
  target.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const request = (target: string) =>
  Buffer.concat([Buffer.from('GET '), Buffer.from(target, 'latin1'), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]);

/** An Eve 400 from the parser's path: its message, after checking the shape and headers. */
function message(t: Test, answer: RawResponse, label: string): string {
  t.equal(answer.status, 400, `${label}: 400`);
  t.equal(answer.headers['x-ecadraft-version'], 'v2', `${label}: names its version`);
  t.equal(answer.headers.connection, 'close', `${label}: closes the connection`);
  t.match(answer.headers['content-type'], /^application\/json/, `${label}: JSON`);
  const body = JSON.parse(answer.body) as { _status: string; _error: { code: number; message: string } };
  t.same(Object.keys(body), ['_status', '_error'], `${label}: Eve's error shape`);
  t.equal(body._status, 'ERR');
  t.equal(body._error.code, 400);
  t.notMatch(body._error.message, /\n|HPE_|Parse Error|llhttp/, `${label}: one line, none of the parser's words`);
  return body._error.message;
}

t.test('a raw UTF-8 character names its first byte, its place and its escape', async (t) => {
  // `é` is C3 A9 in UTF-8, `€` E2 82 AC, `😀` F0 9F 98 80; latin1 strings carry the bytes as they are.
  const cases: [target: string, expected: string][] = [
    [
      '/tickets?where={"customer":"\xc3\xa9"}',
      'Invalid request URL: raw byte 0xC3 in the query. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 ("é" is %C3%A9).',
    ],
    [
      '/tickets/\xc3\xa9',
      'Invalid request URL: raw byte 0xC3 in the path. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 ("é" is %C3%A9).',
    ],
    [
      '/tick\xe2\x82\xacts',
      'raw byte 0xE2 in the path. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 ("€" is %E2%82%AC).',
    ],
    [
      '/tickets?x=1#\xf0\x9f\x98\x80',
      'raw byte 0xF0 in the fragment. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 ("😀" is %F0%9F%98%80).',
    ],
    // Not UTF-8 at all: no character to quote, only the byte's escape.
    [
      '/tickets?x=\xc3\x28',
      'raw byte 0xC3 in the query. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 (0xC3 is %C3).',
    ],
    [
      '/tickets?x=\xff',
      'raw byte 0xFF in the query. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 (0xFF is %FF).',
    ],
  ];
  for (const [target, expected] of cases) {
    const text = message(t, await rawExchange(port, request(target)), shown(target));
    t.ok(text.endsWith(expected), `${shown(target)}: ${text}`);
  }
});

t.test('a raw control character names its byte and its escape', async (t) => {
  const cases: [target: string, expected: string][] = [
    [
      '/tickets?x=\x01',
      'Invalid request URL: control character 0x01 in the query. A URL may hold only printable ASCII: percent-encode it (%01).',
    ],
    [
      '/tickets\x7f',
      'Invalid request URL: control character 0x7F in the path. A URL may hold only printable ASCII: percent-encode it (%7F).',
    ],
    [
      '/tickets?x=a\tb',
      'Invalid request URL: control character 0x09 in the query. A URL may hold only printable ASCII: percent-encode it (%09).',
    ],
    // A CR ends the URL early; the parser stops on the byte after it, the message still names the CR.
    [
      '/tickets?x=a\rb',
      'Invalid request URL: control character 0x0D in the query. A URL may hold only printable ASCII: percent-encode it (%0D).',
    ],
  ];
  for (const [target, expected] of cases) {
    t.equal(message(t, await rawExchange(port, request(target)), shown(target)), expected);
  }
});

t.test('the byte is found wherever the packet boundaries fall', async (t) => {
  // The request line split over two writes: the parser sees the second half alone.
  const split = openRaw(t, port);
  await split.connected;
  split.write('GET /tickets?where={"cust');
  await new Promise((resolve) => setTimeout(resolve, 50));
  split.write(Buffer.from('omer":"\xc3\xa9"} HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
  const text = message(t, await split.readResponse(), 'split request line');
  t.match(
    text,
    /^Invalid request URL: raw byte 0xC3\. A URL may hold only printable ASCII: .*\("é" is %C3%A9\)\.$/,
    text,
  );

  // Pipelined after a valid request that carries non-ASCII in a header (allowed there): the first is
  // served, the second refused for the byte in its own URL.
  const pipelined = openRaw(t, port);
  await pipelined.connected;
  pipelined.write(
    Buffer.concat([
      Buffer.from('GET /tickets?max_results=1 HTTP/1.1\r\nHost: x\r\nX-Note: caf\xc3\xa9\r\n\r\n', 'latin1'),
      request('/tickets/\xc3\xa9'),
    ]),
  );
  t.equal((await pipelined.readResponse()).status, 200, 'the valid request first');
  t.match(message(t, await pipelined.readResponse(), 'pipelined'), /raw byte 0xC3 in the path\./);
});

t.test('the escape the message gives is accepted', async (t) => {
  const encoded = await rawExchange(port, request('/tickets?where={"customer":"%C3%A9"}'));
  t.equal(encoded.status, 200);
  t.equal(JSON.parse(encoded.body)._meta.total, 0, 'a filter on "é", which no customer is');
});

t.test('the asterisk form is for OPTIONS only', async (t) => {
  for (const method of ['GET', 'HEAD', 'DELETE']) {
    const head = Buffer.from(`${method} * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const answer = await rawExchange(port, head, 5000, method === 'HEAD');
    t.equal(answer.status, 400, `${method} *: 400, not the home document`);
    t.equal(answer.headers['x-ecadraft-version'], 'v2', `${method} *: names its version`);
    if (method === 'HEAD') continue;
    t.same(
      JSON.parse(answer.body),
      {
        _status: 'ERR',
        _error: {
          code: 400,
          message: `The request target * is only for OPTIONS: ${method} needs a path, such as /tickets.`,
        },
      },
      `${method} *: Eve's error shape, saying what to send instead`,
    );
  }
  const options = await rawExchange(port, Buffer.from('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  t.equal(options.status, 200, 'OPTIONS *: answered');
  t.equal(options.headers.allow, 'GET, HEAD, OPTIONS', 'with the methods of the API');
});
