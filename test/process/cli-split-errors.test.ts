// `ecadraft split` against targets that answer but measure nothing useful,
// and the checks on failed requests: the built CLI as a user runs it, against
// real listening servers (ecadraft with its fault knobs, a JSON service that
// is not ecadraft, a mesh-like proxy with no healthy upstream).
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli/ecadraft.js');
for (const file of ['ecadraft', 'split', 'max-errors', 'tally']) {
  if (
    statSync(path.join(ROOT, 'dist/cli', `${file}.js`)).mtimeMs <
    statSync(path.join(ROOT, 'src/cli', `${file}.ts`)).mtimeMs
  )
    throw new Error(`dist/cli/${file}.js is older than its source: run \`npm run build\` (npm test does)`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI in a child process, as users run it (without tap's loader in NODE_OPTIONS). */
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function ecadraft(env: Record<string, string> = {}): Promise<string> {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', ...env }));
  t.teardown(() => app.close());
  return `${await app.listen({ port: 0, host: '127.0.0.1' })}/tickets`;
}

const healthy = await ecadraft();
const broken = await ecadraft({ FAULT_ERROR_RATE: '1' });
const sickly = await ecadraft({ FAULT_ERROR_RATE: '0.3' });
const notEcadraft = await listen(
  http.createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","items":[{"name":"x"}]}'),
  ),
);
const noUpstream = await listen(
  http.createServer((_request, response) =>
    response.writeHead(503, { 'content-type': 'text/plain' }).end('no healthy upstream'),
  ),
);

function assertOneLineError(t: Test, run: Run, code: number, message: RegExp): void {
  t.equal(run.code, code, `exit ${code}`);
  t.equal(run.stdout, '', 'nothing on stdout');
  t.match(run.stderr, message);
  t.equal(run.stderr.split('\n').length, 2, `one line: ${run.stderr}`);
}

interface SplitJson {
  non2xx: number;
  statuses: Record<string, number>;
  errors: { total: number };
  maxErrors: { requests: number; failed: number; allowed: number; ok: boolean };
  expect?: { ok: boolean };
}

t.test('--version prints the release from package.json', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.same(await cli(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  t.match((await cli(['--help'])).stdout, /--version {2,}the release of ecadraft/);
});

t.test('no answer tells its version: a usage error, unless a gate was asked for', async (t) => {
  const message =
    /^ecadraft: no answer from http:\/\/127\.0\.0\.1:\d+\/things tells its version: 20 answers without an x-ecadraft-version header or customer names of a single version; is it an ecadraft service\? \(point split at its \/tickets\)\n$/;
  assertOneLineError(t, await cli(['split', '-n', '20', `${notEcadraft}/things`]), 2, message);
  assertOneLineError(t, await cli(['split', '-n', '20', '--json', `${notEcadraft}/things`]), 2, message);

  // ecadraft's home page names no customer; without the header (a proxy stripped it) nothing tells either.
  const gate = await cli(['split', '-n', '20', '--expect', 'v1=50,v2=50', `${notEcadraft}/things`]);
  t.equal(gate.code, 1, 'a gate fails it as its own check');
  t.match(gate.stdout, /^unknown\s+20\s+100%/m);
  t.match(gate.stderr, /^ecadraft: unknown is off by \+100\.0 points/m);
  t.match(
    gate.stderr,
    /^ecadraft: no answer from .* tells its version: .*is it an ecadraft service\?/m,
    'and says why',
  );
});

t.test('every request failed: exit 1 with the statuses, whatever else was asked', async (t) => {
  const plain = await cli(['split', '-n', '30', broken]);
  t.equal(plain.code, 1);
  t.match(plain.stdout, /answers: 30 \(by header 30, .*\); non-2xx: 30; errors: 0/);
  t.equal(
    plain.stderr,
    'ecadraft: every one of the 30 requests failed (non-2xx 30: 500 ×30; errors 0); is the service healthy?\n',
  );

  const gate = await cli(['split', '-n', '30', '--expect', 'v1=100', broken]);
  t.equal(gate.code, 1, 'a gate whose split is right still fails');
  t.match(gate.stdout, /^expect v1=100%: ok\nmax errors 0 \(the default with --expect\): 30 of 30 failed, FAILED$/m);
  t.equal(
    gate.stderr,
    'ecadraft: 30 of 30 requests failed (non-2xx 30: 500 ×30; errors 0), more than --max-errors 0 (the default with --expect) allows\n',
  );

  // A mesh's own 503 carries no version header and no JSON: it still counts as a failed answer, not a usage error.
  const mesh = await cli(['split', '-n', '20', noUpstream]);
  t.equal(mesh.code, 1);
  t.match(mesh.stderr, /^ecadraft: every one of the 20 requests failed \(non-2xx 20: 503 ×20; errors 0\)/);

  t.equal((await cli(['split', '-n', '30', '--max-errors', '100%', broken])).code, 0, '--max-errors 100% accepts it');
});

t.test('--max-errors: a count or a share of the requests, with or without --expect', async (t) => {
  // 30% of 100 requests fail at random (30 ± 4.6): 5 and 10% are far below what fails, 150 and 90% far above.
  const cases = [
    ['5', 5, false, []],
    ['10%', 10, false, ['--expect', 'v1=100']],
    ['150', 150, true, ['--expect', 'v1=100']],
    ['90%', 90, true, []],
  ] as const;
  for (const [limit, allowed, ok, expect] of cases) {
    const run = await cli(['split', '-n', '100', `--max-errors=${limit}`, ...expect, '--json', sickly]);
    const label = `--max-errors ${limit} ${expect.join(' ')}`;
    const report = JSON.parse(run.stdout) as SplitJson;
    t.equal(report.maxErrors.requests, 100, label);
    t.equal(report.maxErrors.allowed, allowed, `${label}: allows ${allowed}`);
    t.equal(report.maxErrors.failed, report.non2xx + report.errors.total, `${label}: failed = non-2xx + errors`);
    t.equal(report.statuses['500'], report.non2xx, `${label}: the non-2xx are the injected 500s`);
    t.equal(report.maxErrors.ok, ok, label);
    if (expect.length > 0) t.equal(report.expect?.ok, true, `${label}: the split itself is right`);
    t.equal(run.code, ok ? 0 : 1, `${label}: exit ${ok ? 0 : 1}`);
    if (!ok) {
      t.match(
        run.stderr,
        new RegExp(
          `^ecadraft: \\d+ of 100 requests failed \\(non-2xx \\d+: 500 ×\\d+; errors 0\\), more than --max-errors ${limit} allows\\n$`,
        ),
      );
    }
  }
  const fine = await cli(['split', '-n', '50', '--expect', 'v1=100', healthy]);
  t.equal(fine.code, 0, 'a healthy target passes the default of the gate');
  t.match(fine.stdout, /^max errors 0 \(the default with --expect\): 0 of 50 failed, ok$/m);
});

t.test('--max-errors refuses what it cannot read, and a live view', async (t) => {
  for (const bad of ['some', '-1', '101%', '1.5', '']) {
    assertOneLineError(
      t,
      await cli(['split', `--max-errors=${bad}`, healthy]),
      2,
      new RegExp(
        `^ecadraft: invalid --max-errors ${JSON.stringify(bad)}: expected a number of requests \\(e\\.g\\. 5\\) or a percentage of them \\(e\\.g\\. 1%\\)\\n$`,
      ),
    );
  }
  assertOneLineError(
    t,
    await cli(['split', '--watch', '--max-errors', '1', healthy]),
    2,
    /^ecadraft: --max-errors cannot be combined with --watch: run a fixed split to gate a step\n$/,
  );
});
