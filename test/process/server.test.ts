// The real process, started as its image and `npm start` start it (node dist/server.js):
// start-up, logging, configuration errors and the graceful stop.
// What app.inject cannot show lives here: the listener, signals, exit codes
// and what reaches stdout and stderr.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { FILE_PATH, STACK_FRAME } from '../helpers/answers.ts';
import {
  connectionRefused,
  imageCommand,
  openRaw,
  ROOT,
  type RunningServer,
  request,
  runToExit,
  sleep,
  startServer,
} from '../helpers/process.ts';

// The one way to make the real process fail inside a request: see the fixture.
const FAULT_INJECTION = `--import=${new URL('../fixtures/fault-injection.mjs', import.meta.url).href}`;

interface Ticket {
  _id: string;
  customer: string;
}

const tickets = (body: string) => (JSON.parse(body) as { _items: Ticket[] })._items;

/** v1's rule: a word starts at the beginning and after whitespace or a hyphen. */
function isTitleCase(name: string): boolean {
  return name
    .split(/[\s-]+/u)
    .filter(Boolean)
    .every((word) => {
      const [first = '', ...rest] = [...word];
      return first === first.toUpperCase() && rest.join('') === rest.join('').toLowerCase();
    });
}

t.test('start-up, responses and logs', async (t) => {
  // One process per configuration, started together: start-up dominates the run time.
  const spawnedAt = performance.now();
  const [v1, v2, faulty] = await Promise.all([
    // SHUTDOWN_DELAY_MS=0 only so the logs can be read complete after a quick exit.
    startServer(t, { SHUTDOWN_DELAY_MS: '0' }),
    startServer(t, { VERSION: 'v2', LOG_LEVEL: 'debug', SHUTDOWN_DELAY_MS: '0' }),
    startServer(t, { TICKET_COUNT: '42', SHUTDOWN_DELAY_MS: '0' }, { nodeArgs: [FAULT_INJECTION] }),
  ]);
  const startedWithin = performance.now() - spawnedAt;

  await t.test('/readyz is 200 once listening, /healthz 200', async (t) => {
    for (const server of [v1, v2, faulty]) {
      const ready = await request(`${server.url}/readyz`);
      t.equal(ready.status, 200);
      t.same(JSON.parse(ready.body), { status: 'ok' });
      const health = await request(`${server.url}/healthz`);
      t.equal(health.status, 200);
      t.same(JSON.parse(health.body), { status: 'ok' });
    }
  });

  await t.test('VERSION unset serves v1 (title case), VERSION=v2 upper case, same tickets otherwise', async (t) => {
    const [one, two] = await Promise.all([
      request(`${v1.url}/tickets?max_results=50`),
      request(`${v2.url}/tickets?max_results=50`),
    ]);
    t.equal(one.status, 200);
    t.equal(two.status, 200);
    t.equal(one.headers['x-ecadraft-version'], 'v1');
    t.equal(two.headers['x-ecadraft-version'], 'v2');
    const a = tickets(one.body);
    const b = tickets(two.body);
    t.equal(a.length, 50);
    t.same(
      b.map((x) => x._id),
      a.map((x) => x._id),
      'same tickets in the same order',
    );
    const notTitle = a.filter((x) => !isTitleCase(x.customer)).map((x) => x.customer);
    t.same(notTitle, [], 'every v1 customer is title case');
    t.ok(
      a.some((x) => x.customer !== x.customer.toUpperCase()),
      'v1 customers are not simply upper case',
    );
    t.same(
      b.map((x) => x.customer),
      a.map((x) => x.customer.toUpperCase()),
      'v2 customer is the v1 one upper-cased',
    );
    // Tools tell versions apart by the header even when the body is not JSON.
    for (const path of ['/', '/healthz', '/readyz', '/version', '/nope', '/docs']) {
      const [r1, r2] = await Promise.all([request(`${v1.url}${path}`), request(`${v2.url}${path}`)]);
      t.equal(r1.headers['x-ecadraft-version'], 'v1', `v1 ${path}`);
      t.equal(r2.headers['x-ecadraft-version'], 'v2', `v2 ${path}`);
    }
    const version = JSON.parse((await request(`${v2.url}/version`)).body) as Record<string, unknown>;
    t.match(version, { service: 'ecadraft', version: 'v2' });
  });

  await t.test("the image's Node.js flags hold: a young generation of at most 2 x 4 MiB", async (t) => {
    const metrics = (await request(`${v1.url}/metrics`)).body;
    const newSpace = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)?.[1];
    t.ok(newSpace !== undefined, 'the new space is reported');
    // Without the flag, start-up alone grows it to tens of MiB.
    t.ok(Number(newSpace) <= 8 * 1024 * 1024, `new space ${newSpace} bytes`);
  });

  await t.test('the start-up line names address, version, ticket count and start-up time', async (t) => {
    for (const [server, version, count] of [
      [v1, 'v1', 100],
      [v2, 'v2', 100],
      [faulty, 'v1', 42],
    ] as const) {
      const ready = server.logs().find((line) => line.msg === 'ecadraft ready');
      t.ok(ready, `${version}: a start-up line`);
      t.equal(ready?.address, server.url, 'the address it listens on');
      t.equal(ready?.version, version);
      t.equal(ready?.tickets, count, 'the ticket count it loaded');
      const startupMs = ready?.startupMs;
      t.type(startupMs, 'number');
      // Measured inside the child from its own start, so it cannot exceed what we waited.
      t.ok(
        typeof startupMs === 'number' && startupMs > 0 && startupMs <= startedWithin + 50,
        `start-up time ${String(startupMs)} ms is positive and within the ${Math.round(startedWithin)} ms we waited`,
      );
    }
    const total = await request(`${faulty.url}/tickets`);
    t.equal(total.headers['x-total-count'], '42', 'TICKET_COUNT is honoured');
  });

  await t.test('an unexpected error: 500 in Eve shape without detail, logged with its stack', async (t) => {
    const response = await request(`${faulty.url}/tickets?__fault=1`);
    t.equal(response.status, 500);
    t.equal(response.headers['x-ecadraft-version'], 'v1');
    t.match(response.headers['content-type'], /^application\/json/);
    const body = JSON.parse(response.body) as { _status: string; _error: { code: number; message: string } };
    t.same(Object.keys(body), ['_status', '_error']);
    t.same(Object.keys(body._error), ['code', 'message']);
    t.equal(body._status, 'ERR');
    t.equal(body._error.code, 500);
    t.type(body._error.message, 'string');
    t.ok(body._error.message.length > 0);
    t.notMatch(response.body, /injected|5f3a|TypeError|Error:/, 'no internal message');
    t.notMatch(response.body, STACK_FRAME, 'no stack trace');
    t.notMatch(response.body, FILE_PATH, 'no file path');
    t.notOk(response.body.includes(ROOT), 'not the checkout path');

    const logged = await faulty.waitFor(
      'the error log line',
      () => faulty.logs().find((line) => line.level === 50),
      3000,
    );
    const err = logged.err as { message?: string; stack?: string } | undefined;
    t.match(err?.message, /injected fault: internal detail 5f3a/, 'the log has the real message');
    t.match(err?.stack, /\n\s+at /, 'the log has the stack');
    t.equal(logged.version, 'v1');

    // The server goes on serving after it.
    t.equal((await request(`${faulty.url}/tickets`)).status, 200);
  });

  await t.test('per-request lines at debug only; every stdout line is JSON with the version', async (t) => {
    const paths = ['/tickets?max_results=3', '/tickets?where=5', '/nope'];
    for (const server of [v1, v2]) {
      for (const path of paths) await request(`${server.url}${path}`);
    }
    // Stopping flushes everything: absence of a line is then a fact, not a race.
    for (const server of [v1, v2, faulty]) server.signal('SIGTERM');
    const exits = await Promise.all([v1, v2, faulty].map((server) => server.waitForExit(10_000)));
    t.same(
      exits.map((exit) => exit.code),
      [0, 0, 0],
      'each stops cleanly',
    );

    for (const [server, version] of [
      [v1, 'v1'],
      [v2, 'v2'],
      [faulty, 'v1'],
    ] as const) {
      t.equal(server.stderr, '', `${version}: nothing on stderr`);
      t.ok(server.stdout.endsWith('\n'), 'stdout ends with a complete line');
      const lines = server.stdout.split('\n').slice(0, -1);
      const bad = lines.filter((line) => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          return typeof parsed !== 'object' || parsed === null || parsed.version !== version;
        } catch {
          return true;
        }
      });
      t.same(bad, [], `every stdout line of the ${version} process is a JSON object with version ${version}`);
    }

    const debugLines = v2.logs().filter((line) => line.msg === 'request');
    for (const [path, status] of [
      [paths[0], 200],
      [paths[1], 400],
      [paths[2], 404],
    ] as const) {
      const line = debugLines.find((l) => l.url === path);
      t.ok(line, `LOG_LEVEL=debug logs ${path}`);
      t.equal(line?.method, 'GET');
      t.equal(line?.statusCode, status);
    }
    const v1Requests = v1
      .logs()
      .filter((line) => line.url !== undefined || line.msg === 'request' || (line.level as number) < 30);
    t.same(v1Requests, [], 'LOG_LEVEL=info (the default) logs no per-request line');
  });
});

t.test('npm start runs the command the image runs', async (t) => {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  t.equal(scripts.start, imageCommand(ROOT).join(' '));
});

t.test('bad configuration stops the process with one line', async (t) => {
  const cases: { env: Record<string, string>; name: string; value: string; accepted: RegExp[] }[] = [
    { env: { VERSION: 'v3' }, name: 'VERSION', value: 'v3', accepted: [/\bv1\b/, /\bv2\b/] },
    { env: { VERSION: 'V1' }, name: 'VERSION', value: 'V1', accepted: [/\bv1\b/, /\bv2\b/] },
    { env: { HOST: 'two words' }, name: 'HOST', value: 'two words', accepted: [/address|host/i] },
    { env: { PORT: 'abc' }, name: 'PORT', value: 'abc', accepted: [/\b65535\b/] },
    { env: { PORT: '70000' }, name: 'PORT', value: '70000', accepted: [/\b65535\b/] },
    { env: { TICKET_COUNT: '0' }, name: 'TICKET_COUNT', value: '0', accepted: [/\b1\b/, /\b1[,_ ]?000[,_ ]?000\b/] },
    { env: { TICKET_COUNT: '1000001' }, name: 'TICKET_COUNT', value: '1000001', accepted: [/\b1[,_ ]?000[,_ ]?000\b/] },
    { env: { TICKET_COUNT: '1.5' }, name: 'TICKET_COUNT', value: '1.5', accepted: [/integer/i] },
    { env: { SEED: '-1' }, name: 'SEED', value: '-1', accepted: [/integer/i, /\b0\b/] },
    { env: { SEED: 'x' }, name: 'SEED', value: 'x', accepted: [/integer/i] },
    { env: { LOG_LEVEL: 'loud' }, name: 'LOG_LEVEL', value: 'loud', accepted: [/\binfo\b/, /\bdebug\b/, /\bwarn\b/] },
    { env: { SHUTDOWN_DELAY_MS: '-5' }, name: 'SHUTDOWN_DELAY_MS', value: '-5', accepted: [/integer/i, /\b0\b/] },
    { env: { SHUTDOWN_TIMEOUT_MS: '0' }, name: 'SHUTDOWN_TIMEOUT_MS', value: '0', accepted: [/integer/i] },
    {
      env: { SHUTDOWN_DELAY_MS: '3000', SHUTDOWN_TIMEOUT_MS: '3000' },
      name: 'SHUTDOWN_TIMEOUT_MS',
      value: '3000',
      accepted: [/SHUTDOWN_DELAY_MS/, /greater|more|larger|exceed|>/i],
    },
    {
      env: { SHUTDOWN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '4000' },
      name: 'SHUTDOWN_TIMEOUT_MS',
      value: '4000',
      accepted: [/SHUTDOWN_DELAY_MS/, /greater|more|larger|exceed|>/i],
    },
  ];
  const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Three at a time: quick, without starving a 2-core machine.
  const results = new Map<number, Awaited<ReturnType<typeof runToExit>>>();
  for (let i = 0; i < cases.length; i += 3) {
    const batch = cases.slice(i, i + 3).map(async (c, j) => results.set(i + j, await runToExit(t, c.env, 10_000)));
    await Promise.all(batch);
  }
  for (const [i, c] of cases.entries()) {
    const label = Object.entries(c.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    await t.test(label, async (t) => {
      const result = results.get(i)!;
      t.not(result.code, 0, 'exit code is non-zero');
      t.not(result.code, null, 'the process exits by itself, not by a signal');
      t.ok(result.ms < 5000, `exits quickly (${Math.round(result.ms)} ms)`);
      const output = result.stderr + result.stdout;
      const lines = output.split('\n');
      t.equal(lines.length, 2, `exactly one line: ${JSON.stringify(output)}`);
      t.equal(lines[1], '', 'ending with a newline');
      const line = lines[0] ?? '';
      t.match(line, new RegExp(`\\b${c.name}\\b`), 'names the variable');
      t.match(line, new RegExp(`(?:^|[\\s="'\`(])${escapeRegExp(c.value)}(?:$|[\\s"'\`):,;.])`), 'names the bad value');
      for (const accepted of c.accepted) t.match(line, accepted, `says what is accepted (${String(accepted)})`);
      t.notMatch(line, STACK_FRAME, 'no stack trace');
      t.notMatch(output, /\n\s+at /, 'no stack trace lines');
      t.notMatch(line, FILE_PATH, 'no file path');
    });
  }
});

t.test('a port already in use: one line, non-zero exit', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => blocker.close(resolve)));
  const port = (blocker.address() as net.AddressInfo).port;
  const result = await runToExit(t, { PORT: String(port) }, 10_000);
  t.not(result.code, 0);
  t.not(result.code, null);
  t.ok(result.ms < 5000, `exits quickly (${Math.round(result.ms)} ms)`);
  const output = result.stderr + result.stdout;
  const lines = output.split('\n');
  t.equal(lines.length, 2, `exactly one line: ${JSON.stringify(output)}`);
  t.match(lines[0], new RegExp(`\\b${port}\\b`), 'names the port');
  t.match(lines[0], /EADDRINUSE|in use/i, 'says why');
  t.notMatch(output, /\n\s+at /, 'no stack trace');
  t.notMatch(lines[0], FILE_PATH, 'no file path');
});

/** The log line of a stop, naming its signal: by then the process has certainly handled it. */
function stopLogged(server: RunningServer, signal: NodeJS.Signals): Promise<Record<string, unknown>> {
  return server.waitFor(
    `a log line naming ${signal}`,
    () => server.logs().find((line) => line.signal === signal),
    3000,
  );
}

const TICKETS_HEAD = (query: string) => `GET /tickets?${query} HTTP/1.1\r\nHost: x\r\n`;

/**
 * The stop sequence, timed from the signal: readiness fails at once,
 * requests are served through SHUTDOWN_DELAY_MS, then the listener closes,
 * idle keep-alive connections close, the in-flight request finishes, exit 0.
 */
async function drainsGracefully(t: Test, signal: NodeJS.Signals): Promise<void> {
  const delayMs = 1000;
  const server = await startServer(t, { SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_TIMEOUT_MS: '10000' });

  // A keep-alive connection that served a request before the signal and then sits idle.
  const idle = openRaw(t, server.port);
  await idle.connected;
  idle.write(`${TICKETS_HEAD('max_results=1')}\r\n`);
  const before = await idle.readResponse();
  t.equal(before.status, 200);
  t.not(before.headers.connection, 'close', 'keep-alive before the signal');

  const signalledAt = performance.now();
  const since = () => performance.now() - signalledAt;
  server.signal(signal);

  let ready = await request(`${server.url}/readyz`);
  while (ready.status === 200 && since() < delayMs / 2) ready = await request(`${server.url}/readyz`);
  t.equal(ready.status, 503, '/readyz fails');
  t.ok(since() < delayMs / 2, `at once (${Math.round(since())} ms after the signal)`);
  t.same(JSON.parse(ready.body), { status: 'draining' });
  await stopLogged(server, signal);
  t.equal((await request(`${server.url}/readyz`)).status, 503, 'and keeps failing');

  // A request whose head arrives during the delay and whose end arrives after the listener closed.
  const inFlight = openRaw(t, server.port);
  await inFlight.connected;
  inFlight.write(TICKETS_HEAD('max_results=2'));

  const served: number[] = [];
  let lastServedAt = 0;
  while (since() < delayMs - 250) {
    const response = await request(`${server.url}/tickets?max_results=1`);
    t.equal(response.status, 200, `/tickets served ${Math.round(since())} ms into the delay`);
    t.equal(response.headers.connection, 'close', 'with connection: close, so clients reconnect elsewhere');
    t.equal(tickets(response.body).length, 1);
    served.push(response.status);
    lastServedAt = since();
    await sleep(100);
  }
  // Few requests on a busy machine is fine; what matters is that serving went on late into the delay.
  t.ok(
    served.length >= 2 && lastServedAt >= delayMs / 2,
    `served through the delay (${served.length} requests, the last at ${Math.round(lastServedAt)} ms)`,
  );
  t.notOk(idle.isClosed, 'the idle keep-alive connection stays open during the delay');

  let refusedAt: number | undefined;
  while (since() < delayMs + 4000) {
    if (await connectionRefused(server.port)) {
      refusedAt = since();
      break;
    }
    await sleep(25);
  }
  t.ok(refusedAt !== undefined, 'the listener closes: new connections are refused');
  t.ok(
    refusedAt !== undefined && refusedAt >= delayMs - 20,
    `not before the delay (${Math.round(refusedAt ?? NaN)} ms)`,
  );

  await idle.waitClosed(3000);
  t.ok(idle.isClosed, 'the idle keep-alive connection is closed');

  t.equal(server.exit, undefined, 'the process waits for the request in flight');
  inFlight.write('\r\n');
  const finished = await inFlight.readResponse();
  t.equal(finished.status, 200, 'the request in flight completes');
  t.equal(tickets(finished.body).length, 2, 'with its full body');

  const exit = await server.waitForExit(5000);
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(since() >= delayMs, 'after the delay');
}

t.test('graceful stop on SIGTERM', (t) => drainsGracefully(t, 'SIGTERM'));
t.test('graceful stop on SIGINT', (t) => drainsGracefully(t, 'SIGINT'));

t.test('a second signal during the delay exits at once, non-zero', async (t) => {
  const delayMs = 5000;
  const pairs: [NodeJS.Signals, NodeJS.Signals][] = [
    ['SIGTERM', 'SIGTERM'],
    ['SIGINT', 'SIGTERM'],
  ];
  const servers = await Promise.all(
    pairs.map(() => startServer(t, { SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_TIMEOUT_MS: '20000' })),
  );
  await Promise.all(
    pairs.map(async ([first, second], i) => {
      const server = servers[i] as RunningServer;
      server.signal(first);
      await stopLogged(server, first);
      t.equal((await request(`${server.url}/readyz`)).status, 503, `${first}: draining`);
      const secondAt = performance.now();
      server.signal(second);
      const exit = await server.waitForExit(3000);
      const after = performance.now() - secondAt;
      t.not(exit.code, 0, `${first} then ${second}: non-zero exit (${String(exit.code)})`);
      t.not(exit.code, null, 'by itself, not killed by the signal');
      t.ok(after < 1500, `at once (${Math.round(after)} ms after the second signal, delay ${delayMs} ms)`);
    }),
  );
});

t.test('a drain longer than SHUTDOWN_TIMEOUT_MS exits non-zero at the timeout', async (t) => {
  const delayMs = 100;
  const timeoutMs = 1500;
  const server = await startServer(t, { SHUTDOWN_DELAY_MS: String(delayMs), SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
  // A request head without its final blank line: in flight, and never finishing.
  const stuck = openRaw(t, server.port);
  await stuck.connected;
  stuck.write(TICKETS_HEAD('max_results=1'));
  await sleep(100);

  const signalledAt = performance.now();
  server.signal('SIGTERM');
  await sleep(delayMs + 400);
  t.ok(await connectionRefused(server.port), 'the listener closed after the delay');
  t.equal(server.exit, undefined, 'still draining');

  const exit = await server.waitForExit(timeoutMs + 5000);
  const after = performance.now() - signalledAt;
  t.not(exit.code, 0, `non-zero exit (${String(exit.code)})`);
  t.not(exit.code, null, 'by itself, not by a signal');
  t.ok(after >= timeoutMs - 20, `not before the timeout (${Math.round(after)} ms)`);
  t.ok(after < timeoutMs + 1500, `at about the timeout (${Math.round(after)} ms, timeout ${timeoutMs} ms)`);
  t.ok(
    server.logs().some((line) => (line.level as number) >= 40),
    'the timeout is logged as a warning or an error',
  );
});
