// The server's connection timeouts, chosen for running behind Envoy (see
// SERVER_TIMEOUTS in src/app.ts; kubernetes.test.ts checks them against the
// DestinationRule): an idle keep-alive connection is left for the proxy to
// close, a client that dribbles its headers is cut off, and idle connections
// cost the others nothing. Checked on the real process, over sockets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { buildApp, SERVER_TIMEOUTS } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { eveErrorProblem } from '../helpers/answers.ts';
import { openRaw, type RawConnection, request, sleep, startServer } from '../helpers/process.ts';

const { headersTimeout, connectionsCheckingInterval } = SERVER_TIMEOUTS;
const keepAliveTimeout = loadConfig({}).keepAliveTimeoutMs;
const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

t.test('the listening server runs with SERVER_TIMEOUTS', async (t) => {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }));
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.ok((app.server.address() as AddressInfo).port > 0, 'listening');
  t.equal(app.server.keepAliveTimeout, keepAliveTimeout, 'keepAliveTimeout, KEEP_ALIVE_TIMEOUT_MS by default');
  t.equal(app.server.headersTimeout, headersTimeout, 'headersTimeout');
  t.equal(app.server.requestTimeout, SERVER_TIMEOUTS.requestTimeout, 'requestTimeout');
  // Node enforces a headers timeout only if it is shorter than the request timeout.
  t.ok(headersTimeout < SERVER_TIMEOUTS.requestTimeout, 'headersTimeout < requestTimeout');
});

t.test('the real process: idle keep-alive, slow headers, and the others served meanwhile', async (t) => {
  const server = await startServer(t);

  // A proxy's pooled connection: one request, then nothing, for longer than the header timeout.
  const pooled = openRaw(t, server.port);
  await pooled.connected;
  pooled.write(GET('/tickets?max_results=1'));
  const first = await pooled.readResponse();
  t.equal(first.status, 200, 'a pooled connection served its request');
  t.equal(first.headers.connection, 'keep-alive', 'and stays open');
  t.equal(
    first.headers['keep-alive'],
    `timeout=${keepAliveTimeout / 1000}`,
    'the keep-alive timeout is advertised as configured',
  );

  // One byte of a request head per second: a slow-loris client.
  const slow = openRaw(t, server.port);
  await slow.connected;
  const head = `GET /tickets HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(60)}`;
  const slowStarted = performance.now();
  let sent = 0;
  const dribble = setInterval(() => {
    if (!slow.isClosed) slow.write(head[sent++] ?? 'a');
  }, 1000);
  t.teardown(() => clearInterval(dribble));
  slow.write(head[sent++]!);

  // A client that connects and never sends anything.
  const silent = openRaw(t, server.port);
  await silent.connected;
  const silentStarted = performance.now();

  // Meanwhile, someone else's requests, on fresh connections.
  const others: { status: number; ms: number }[] = [];
  const deadline = performance.now() + headersTimeout + 2 * connectionsCheckingInterval + 500;
  const cutOff = async (connection: RawConnection, startedAt: number) => {
    await connection.waitClosed(headersTimeout + 2 * connectionsCheckingInterval + 1000);
    return performance.now() - startedAt;
  };
  const cuts = Promise.all([cutOff(slow, slowStarted), cutOff(silent, silentStarted)]);
  while (performance.now() < deadline && !(slow.isClosed && silent.isClosed)) {
    const started = performance.now();
    const response = await request(`${server.url}/tickets?max_results=3`);
    others.push({ status: response.status, ms: performance.now() - started });
    await sleep(250);
  }
  const [slowMs, silentMs] = await cuts;
  clearInterval(dribble);

  for (const [name, connection, ms] of [
    ['slow-loris', slow, slowMs],
    ['silent', silent, silentMs],
  ] as const) {
    t.ok(ms >= headersTimeout - 250, `${name}: not cut before the header timeout (${Math.round(ms)} ms)`);
    t.ok(ms <= headersTimeout + 2000, `${name}: cut within headersTimeout + 2 s (${Math.round(ms)} ms)`);
    t.ok(connection.peerEnded, `${name}: closed with a FIN`);
    if (connection.received !== '') {
      const answer = await connection.readResponse(100);
      t.equal(answer.status, 408, `${name}: answered 408 before the close`);
      t.equal(eveErrorProblem(answer.status, answer.body), undefined, `${name}: in Eve's error shape`);
      t.equal(answer.headers['x-ecadraft-version'], 'v1', `${name}: with the version header`);
    }
  }
  t.comment(
    `slow-loris cut after ${Math.round(slowMs)} ms having sent ${sent} bytes; silent connection cut after ${Math.round(silentMs)} ms`,
  );
  t.ok(others.length >= 10, `others were served throughout (${others.length} requests)`);
  t.same(
    others.filter((o) => o.status !== 200),
    [],
    'every one of them 200',
  );
  t.comment(`their latency: max ${Math.max(...others.map((o) => o.ms)).toFixed(1)} ms`);

  t.notOk(
    pooled.isClosed,
    `the idle keep-alive connection is still open after ${Math.round((performance.now() - slowStarted) / 1000)} s`,
  );
  pooled.write(GET('/tickets?max_results=2'));
  const again = await pooled.readResponse();
  t.equal(again.status, 200, 'and a request on it succeeds');
  t.equal(pooled.error, undefined, 'no reset');
});

t.test('KEEP_ALIVE_TIMEOUT_MS sets the keep-alive the process advertises and keeps', async (t) => {
  const server = await startServer(t, { KEEP_ALIVE_TIMEOUT_MS: '2000' });
  const pooled = openRaw(t, server.port);
  await pooled.connected;
  pooled.write(GET('/tickets?max_results=1'));
  const answer = await pooled.readResponse();
  t.equal(answer.headers['keep-alive'], 'timeout=2', 'advertised in whole seconds');
  const idleFrom = performance.now();
  await pooled.waitClosed(10_000);
  const idleMs = performance.now() - idleFrom;
  t.ok(idleMs >= 1900, `the idle connection is closed after the timeout (${Math.round(idleMs)} ms), not before`);
  t.ok(pooled.peerEnded, 'with a FIN');
});

t.test('1,000 idle connections do not stop others from being served', async (t) => {
  const server = await startServer(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const url = `${server.url}/tickets?max_results=10`;
  const measure = async (n: number, what: string) => {
    const times: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      statuses.push((await request(url, { agent })).status);
      times.push(performance.now() - started);
    }
    t.same(
      statuses.filter((s) => s !== 200),
      [],
      `${n} requests ${what}: all 200`,
    );
    return times.sort((a, b) => a - b);
  };
  const median = (sorted: number[]) => sorted[sorted.length >> 1]!;
  await measure(20, 'to warm up');
  const before = await measure(50, 'before');

  // Half as a proxy's pool leaves them (after one request each), half never sending a byte.
  const idle: RawConnection[] = [];
  for (let i = 0; i < 1000; i++) idle.push(openRaw(t, server.port));
  await Promise.all(idle.map((c) => c.connected));
  await Promise.all(
    idle.slice(0, 500).map(async (c) => {
      c.write(GET('/healthz'));
      return c.readResponse();
    }),
  );

  const during = await measure(50, 'with 1,000 idle connections open');
  t.same(idle.filter((c) => c.isClosed).length, 0, 'all 1,000 still open while the others were served');
  t.comment(
    `latency of a keep-alive request: median ${median(before).toFixed(2)} ms, max ${before.at(-1)!.toFixed(2)} ms before; ` +
      `median ${median(during).toFixed(2)} ms, max ${during.at(-1)!.toFixed(2)} ms with 1,000 idle connections open`,
  );
  const fresh = await request(url);
  t.equal(fresh.status, 200, 'a new connection is accepted and served too');
  for (const c of idle) c.destroy();
});
