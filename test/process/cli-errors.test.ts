// What a user sees when `ecadraft` cannot do its job: one line on stderr that
// names the problem, exit code 2, no stack trace; and --help.
import http from 'node:http';
import t, { type Test } from 'tap';
import { cli, type Run } from '../helpers/canary.ts';
import { close, listen } from '../helpers/http.ts';

/** What a user sees for an error: one line on stderr, named, no stack trace. */
function assertOneLineError(t: Test, run: Run, pattern: RegExp): void {
  t.equal(run.code, 2, 'exit code 2');
  t.equal(run.stdout, '', 'nothing on stdout');
  const lines = run.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line: ${run.stderr}`);
  t.match(lines[0], pattern);
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

t.test('errors are one line, exit code 2, no stack trace', async (t) => {
  const closed = http.createServer();
  const closedUrl = await listen(closed);
  await close(closed);
  const html = http.createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
  );
  const htmlUrl = await listen(html);
  let silentRequests = 0;
  const silent = http.createServer(() => {
    silentRequests++;
  });
  const silentUrl = await listen(silent);
  t.teardown(() => Promise.all([close(html), close(silent)]));

  const port = new URL(closedUrl).port;
  assertOneLineError(
    t,
    await cli(t, ['split', `${closedUrl}/tickets`]),
    new RegExp(
      `^ecadraft: cannot reach http://127\\.0\\.0\\.1:${port}/tickets: connection refused \\(ECONNREFUSED\\)$`,
    ),
  );
  assertOneLineError(t, await cli(t, ['load', `${closedUrl}/tickets`]), /^ecadraft: cannot reach .*connection refused/);
  assertOneLineError(
    t,
    await cli(t, ['split', 'localhost:8080/tickets']),
    /^ecadraft: invalid URL "localhost:8080\/tickets": the scheme must be http or https/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', 'not a url']),
    /^ecadraft: invalid URL "not a url": expected an absolute http:\/\/ or https:\/\/ URL/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', `${htmlUrl}/`]),
    /^ecadraft: unexpected answer from http:\/\/.*: 200 \(text\/html\) is not JSON and has no x-ecadraft-version header; is it an ecadraft service\?$/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', '--timeout', '200', `${silentUrl}/tickets`]),
    /^ecadraft: timed out waiting for http:\/\/.*: no answer within 200 ms \(--timeout\)$/,
  );
  // Counted rather than timed (the machine is shared): the first timeout ends the run, so no request
  // beyond the first concurrent batch (10 by default) is sent, where a run that went on would send 200.
  t.ok(silentRequests >= 1 && silentRequests <= 10, `a timeout ends the run: ${silentRequests} requests sent`);
  assertOneLineError(
    t,
    await cli(t, ['split', '--requests', 'many', htmlUrl]),
    /^ecadraft: invalid --requests "many": expected an integer from 1/,
  );
  // A negative number is a value out of range, not an option parseArgs thinks was forgotten.
  for (const args of [
    ['-n', '-5'],
    ['--requests', '-5'],
  ]) {
    assertOneLineError(
      t,
      await cli(t, ['split', ...args, htmlUrl]),
      /^ecadraft: invalid --requests "-5": expected an integer from 1 to 10000000$/,
    );
  }
  assertOneLineError(
    t,
    await cli(t, ['split', '--window', '5', htmlUrl]),
    /^ecadraft: --window applies only to --watch: a fixed split counts every request it sends$/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', '--expect', 'v1=60,v2=50', htmlUrl]),
    /^ecadraft: invalid --expect "v1=60,v2=50": the shares add up to 110, not 100$/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', '--watch', '--expect', 'v1=100', htmlUrl]),
    /^ecadraft: --expect cannot be combined with --watch/,
  );
  assertOneLineError(
    t,
    await cli(t, ['split', '--frobnicate', htmlUrl]),
    /^ecadraft: split: Unknown option '--frobnicate' \(see ecadraft --help\)$/,
  );
  assertOneLineError(t, await cli(t, ['deploy']), /^ecadraft: unknown command "deploy": expected split or load/);

  const help = await cli(t, ['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: ecadraft <command> \[options\] <url>/);
  t.match(help.stdout, /--expect <split>/);
});
