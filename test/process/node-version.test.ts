// On a Node.js older than package.json's engines, npm ci, npm start and npm
// test stop before anything else runs, with a line that says what to do. The
// older Node is this one told to report v20 (a preload rewrites
// process.version), so the check runs as the real npm runs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT } from '../helpers/process.ts';

const NPM = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
if (!NPM) {
  t.comment('npm is not on the PATH: the checks of npm ci, npm start and npm test cannot run');
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'ecadraft-old-node-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const preload = path.join(dir, 'v20.mjs');
writeFileSync(
  preload,
  "Object.defineProperty(process, 'version', { value: 'v20.19.0' });\n" +
    "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.19.0' } });\n",
);
const bin = path.join(dir, 'bin');
const node = path.join(bin, 'node');
spawnSync('mkdir', [bin]);
writeFileSync(node, `#!/bin/sh\nexec "${process.execPath}" --import "${preload}" "$@"\n`, { mode: 0o755 });
const oldNode = { ...process.env, PATH: `${bin}:${process.env.PATH}`, npm_config_loglevel: undefined };

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, { cwd, env: oldNode, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });

t.test('the fake is an older Node', async (t) => {
  const run = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' });
  t.equal(run.stdout.trim(), 'v20.19.0');
});

t.test('npm ci refuses at once, naming the version it needs', async (t) => {
  // A copy of what npm ci reads, so a failure of this test cannot touch the checkout's node_modules.
  const project = path.join(dir, 'project');
  spawnSync('mkdir', [project]);
  for (const file of ['package.json', 'package-lock.json', '.npmrc'])
    copyFileSync(path.join(ROOT, file), path.join(project, file));
  const run = npm(['ci', '--dry-run', '--ignore-scripts'], project);
  t.not(run.status, 0, 'exits non-zero');
  t.match(run.stderr, /EBADENGINE/);
  t.match(run.stderr, /Required: \{"node":">=24"\}/);
  t.match(run.stderr, /Actual: +\{"node":"v20\.19\.0"/);
});

for (const script of ['start', 'test']) {
  t.test(`npm ${script} stops before it builds or runs anything`, async (t) => {
    const run = npm([script], ROOT);
    t.equal(run.status, 1, 'exit code 1');
    t.equal(run.signal, null, 'stopped by itself, not by the timeout');
    const ours = run.stderr.split('\n').filter((line) => line.startsWith('ecadraft'));
    t.same(ours, ['ecadraft needs Node.js >=24, this is v20.19.0: nvm install (reads .nvmrc), or see the README']);
    t.notMatch(run.stdout, /biome|tsc|ecadraft ready/, 'neither lint, build nor the server ran');
  });
}
