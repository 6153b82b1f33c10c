// The README and docs/ tell the truth about the default data: every marked
// console example (see helpers/doc-examples.ts for the marker) runs against
// real processes, the service with its default seed as v1 and v2 and the local
// demo's gateway, and must print what the doc shows. A new seed, a new faker
// or a changed error message fails here instead of leaving the docs stale.
// A few facts that live in prose and tables are checked by pattern: customer
// names quoted anywhere, /version bodies, the first customer in the Istio
// walkthrough's comments, and that no example uses a shell variable no doc sets.
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  type DocFile,
  docFiles,
  type Example,
  examples,
  fences,
  fits,
  unmarkedShellBlocks,
} from '../helpers/doc-examples.ts';
import { close, listen } from '../helpers/http.ts';
import { CLI_SCRIPT, childEnv, type NodeProcess, ROOT, request, spawnNode, startServer } from '../helpers/process.ts';

// The examples are shell as the docs write it: they need the commands a reader has.
const MISSING = ['bash', 'curl', 'jq'].filter(
  (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0,
);
const SKIP_EXAMPLES =
  MISSING.length > 0
    ? `${MISSING.join(', ')} not installed (.ci/run installs them with apt-get), so the examples cannot run`
    : false;

const files = docFiles(ROOT);
const tested = files.flatMap(examples);
t.ok(tested.length >= 10, `${tested.length} marked examples found`);

// ---------------------------------------------------------------------------
// Fixtures

// A generous start-up bound: this file starts two servers and the demo's two at once.
const servers = {
  v1: await startServer(t, { VERSION: 'v1' }, { readyTimeoutMs: 60_000 }),
  v2: await startServer(t, { VERSION: 'v2' }, { readyTimeoutMs: 60_000 }),
};
const html = http.createServer((_request, response) =>
  response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
);
const silent = http.createServer(() => undefined);
const others = { html: new URL(await listen(html)).host, silent: new URL(await listen(silent)).host };
t.teardown(() => Promise.all([close(html), close(silent)]));

// `ecadraft` on the PATH, as `npm link` puts it there.
const bin = mkdtempSync(path.join(os.tmpdir(), 'ecadraft-docs-'));
writeFileSync(path.join(bin, 'ecadraft'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_SCRIPT}" "$@"\n`);
chmodSync(path.join(bin, 'ecadraft'), 0o755);
t.teardown(() => rmSync(bin, { recursive: true, force: true }));

/** The demo, started on first use with a fixed seed, so its splits are the same on every run. */
let demo: { process: NodeProcess; host: string } | undefined;
async function gatewayAt(step: string): Promise<string> {
  if (!demo) {
    const child = spawnNode(t, path.join(ROOT, 'src', 'demo', 'demo.ts'), {
      nodeArgs: ['--import', 'tsx'],
      args: ['--port', '0', '--seed', '17', '--step', step],
      input: true,
    });
    // Ctrl-C, as a reader stops it: the demo then stops its servers, which run in a
    // process group of their own. (Teardowns run last-registered first, so this runs
    // before spawnNode's SIGKILL, which would leave them behind.)
    t.teardown(async () => {
      child.signal('SIGINT');
      await child.waitForExit(20_000);
    });
    const url = await child.waitFor(
      'the demo gateway',
      () => /^ {2}gateway +(http:\S+)/m.exec(child.stdout)?.[1],
      60_000,
    );
    demo = { process: child, host: new URL(url).host };
  }
  {
    // Typed even when it is the step already applied: the draws restart from the seed, so each
    // example sees the same split whatever ran before it.
    const { process: child } = demo;
    const before = child.stdout.length;
    child.child.stdin!.write(`${step}\n`);
    await child.waitFor(
      `step ${step}`,
      () => (/^routes /m.test(child.stdout.slice(before)) ? true : undefined),
      10_000,
    );
  }
  return demo.host;
}

async function fixture(name: string): Promise<string> {
  if (name === 'v1' || name === 'v2') return new URL(servers[name].url).host;
  if (name === 'html' || name === 'silent') return others[name];
  const step = /^gateway:(.+)$/.exec(name)?.[1];
  if (step) return gatewayAt(step);
  throw new Error(`unknown fixture "${name}"`);
}

// ---------------------------------------------------------------------------
// The marked examples

const SEPARATOR = '@@doc-example@@';

/** Runs an example's commands in one bash, in order; returns each command's output (stdout and stderr, as a terminal shows them). */
async function run(example: Example): Promise<string[]> {
  const env: Record<string, string | undefined> = { ...childEnv(), PATH: `${bin}:${process.env.PATH}` };
  let script = '';
  for (const [name, fixtureName] of example.variables) env[name] = await fixture(fixtureName);
  const hosts: [string, string][] = [];
  for (const [address, fixtureName] of example.addresses) hosts.push([address, await fixture(fixtureName)]);
  for (const { command } of example.commands) {
    const local = hosts.reduce((text, [address, host]) => text.replaceAll(address, host), command);
    // `$?` must still be the previous command's when the next one reads it.
    script += `__status=$?; printf '\\n${SEPARATOR}\\n'; (exit $__status)\n${local}\n`;
  }
  const output = await new Promise<string>((resolve) => {
    execFile(
      'bash',
      ['--noprofile', '--norc', '-c', `exec 2>&1\n${script}`],
      { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout) => resolve(stdout),
    );
  });
  const back = (text: string) => hosts.reduce((out, [address, host]) => out.replaceAll(host, address), text);
  return output
    .split(`\n${SEPARATOR}\n`)
    .slice(1)
    .map((part) => back(part).replace(/\n$/, ''));
}

for (const example of tested) {
  t.test(example.where, { skip: SKIP_EXAMPLES }, async (t) => {
    const outputs = await run(example);
    example.commands.forEach(({ command, expected }, i) => {
      const actual = outputs[i]?.replace(/\r/g, '').split('\n') ?? [];
      if (expected.length === 0 && actual.length === 1 && actual[0] === '') actual.pop();
      t.ok(
        fits(expected, actual),
        `$ ${command}`,
        fits(expected, actual) ? {} : { expected: expected.join('\n'), actual: actual.join('\n') },
      );
    });
  });
}

t.test('every shell block in the docs is tested, or says why it cannot be', async (t) => {
  for (const file of files) {
    t.same(unmarkedShellBlocks(file), [], `${file.name}: each block has a test marker or a "not tested: why" marker`);
  }
});

// ---------------------------------------------------------------------------
// Facts in prose and tables

const customers = { v1: new Set<string>(), v2: new Set<string>() };
for (const version of ['v1', 'v2'] as const) {
  for (const page of [1, 2]) {
    const body = JSON.parse((await request(`${servers[version].url}/tickets?max_results=50&page=${page}`)).body) as {
      _items: { customer: string }[];
    };
    for (const item of body._items) customers[version].add(item.customer);
  }
}
const firstCustomer = (version: 'v1' | 'v2') => [...customers[version]][0]!;

t.test('every customer name a doc quotes is in the default data', async (t) => {
  // Backticked or double-quoted, with what only company names have here: Inc, Llc, Group, And, " - ".
  const NAME = /[`"]([A-Z][^`"\n]*?(?: (?:Inc|Llc|Group|INC|LLC|GROUP)|,? (?:And|AND) | - )[^`"\n]*?)[`"]/g;
  let checked = 0;
  for (const file of files) {
    for (const [, name] of file.text.matchAll(NAME)) {
      checked++;
      t.ok(customers.v1.has(name!) || customers.v2.has(name!), `${file.name}: "${name}"`);
    }
  }
  t.ok(checked >= 5, `${checked} names checked`);
});

t.test('the README version table shows each version its own casing', async (t) => {
  const readme = files.find((f) => f.name === 'README.md')!.text;
  for (const version of ['v1', 'v2'] as const) {
    const row = new RegExp(`^\\| \`${version}\`.*$`, 'm').exec(readme)?.[0] ?? '';
    // The backticked names in the row, not the version or the header.
    const names = [...row.matchAll(/`([^`]*)`/g)].map((m) => m[1]!).filter((s) => s.includes(' ') && !s.includes(':'));
    t.ok(names.length >= 2, `${version}: ${names.join(', ')}`);
    for (const name of names) t.ok(customers[version].has(name), `${version} serves "${name}"`);
  }
});

t.test('every /version body a doc shows is what the service answers', async (t) => {
  let checked = 0;
  for (const file of files) {
    for (const [body] of file.text.matchAll(/\{"service":"ecadraft"[^}\n]*\}/g)) {
      const version = (JSON.parse(body) as { version: 'v1' | 'v2' }).version;
      t.equal(body, (await request(`${servers[version].url}/version`)).body, `${file.name}: ${version}`);
      checked++;
    }
  }
  t.ok(checked >= 2, `${checked} bodies checked`);
});

t.test("the first customer in the walkthrough's comments", async (t) => {
  // `curl ... | jq '._items[0].customer'   # "Name"`: v2's casing with the canary header, v1's otherwise.
  let checked = 0;
  for (const file of files) {
    for (const line of file.text.split('\n').filter((l) => l.includes("jq '._items[0].customer'") && l.includes('#'))) {
      const version = line.includes('x-canary: true') ? 'v2' : 'v1';
      for (const [, name] of line.slice(line.lastIndexOf('#')).matchAll(/"([^"]+)"/g)) {
        t.equal(name, firstCustomer(version), `${file.name}: ${line.trim()}`);
        checked++;
      }
    }
  }
  t.ok(checked >= 2, `${checked} comments checked`);
});

t.test('no example uses a shell variable that no doc sets', async (t) => {
  const scripts = (file: DocFile) =>
    fences(file.text)
      .filter((block) => ['sh', 'bash', 'console'].includes(block.info))
      .flatMap((block) =>
        block.info === 'console'
          ? block.body.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2))
          : block.body.filter((l) => !l.trimStart().startsWith('#')),
      )
      // Single quotes hold literal text: `{"$in": [...]}` is a Mongo operator, not a variable.
      .map((line) => line.replace(/'[^']*'/g, "''"));
  const lines = files.flatMap((file) => scripts(file).map((line) => ({ file: file.name, line })));
  const set = new Set(['HOME', 'PATH', 'PWD']);
  for (const { line } of lines) {
    for (const [, name] of line.matchAll(/(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_]\w*)=/g)) set.add(name!);
    for (const [, name] of line.matchAll(/\bfor\s+([A-Za-z_]\w*)\s+in\b/g)) set.add(name!);
  }
  const unset = lines.flatMap(({ file, line }) =>
    [...line.matchAll(/\$\{?([A-Za-z_]\w*)/g)]
      .filter(([, name]) => !set.has(name!))
      .map(([, name]) => `${file}: $${name} in ${line}`),
  );
  t.same(unset, []);
});
