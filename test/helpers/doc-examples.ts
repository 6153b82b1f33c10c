// The console examples of README.md and docs/*.md that a test runs. An example
// is a fenced block preceded by a marker line, an HTML comment that GitHub
// does not render:
//
//   <!-- test: localhost:8080=v1 -->
//   ```console
//   $ curl -s localhost:8080/version
//   {"service":"ecadraft",...}
//   ```
//
// A `console` block holds commands (after `$ `, continued by a trailing `\`),
// each followed by its expected output. A `sh` block is one command script
// whose expected output is the fenced block right after it, as the Istio
// walkthrough writes them. In an expected output, a line `...` stands for any
// number of lines, and `...` within a line for any text.
//
// The marker's settings say what the example runs against:
// - `address=fixture` replaces the address (`localhost:8080`, `example.com`)
//   in the commands by the fixture's `127.0.0.1:<port>`, and back in the output;
// - `NAME=fixture` sets the shell variable NAME to the fixture's address
//   (`GATEWAY_URL=gateway:v1`).
// Fixtures: `v1`, `v2` (the service, default data), `gateway:<step>` (the local
// demo's proxy at a step), `html` (a server that answers an HTML page),
// `silent` (a server that never answers).
//
// Every other shell block (`console`, `sh`, `bash`) says why no test runs it,
// in a marker of its own: `<!-- not tested: needs a Kubernetes cluster -->`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Command {
  /** The command as written, continuation lines joined with newlines. */
  command: string;
  expected: string[];
}

export interface Example {
  /** `docs/istio.md:123`: where the block starts. */
  where: string;
  /** Address to fixture, in the order written. */
  addresses: [string, string][];
  /** Shell variable to fixture. */
  variables: [string, string][];
  commands: Command[];
}

export interface DocFile {
  /** Relative to the repository root. */
  name: string;
  text: string;
}

/** README.md and every Markdown file in docs/. */
export function docFiles(root: string): DocFile[] {
  const names = [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  return names.map((name) => ({ name, text: readFileSync(path.join(root, name), 'utf8') }));
}

interface Fence {
  /** 0-based index of the opening line. */
  start: number;
  info: string;
  body: string[];
  /** Index of the line after the closing fence. */
  end: number;
}

/** Every fenced block (``` only), with its info string and lines. */
export function fences(text: string): Fence[] {
  const lines = text.split('\n');
  const found: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) body.push(lines[j++]!.slice(indent));
    found.push({ start: i, info: open[2]!.trim(), body, end: j + 1 });
    i = j;
  }
  return found;
}

const MARKER = /^<!-- test(?::\s*(.*?))?\s*-->$/;
const NOT_TESTED = /^<!-- not tested(?::\s*(.*?))?\s*-->$/;
const SHELL = new Set(['console', 'sh', 'bash']);

/** The shell blocks of a file that carry neither a test marker nor a reason why not, as `file:line`. */
export function unmarkedShellBlocks(file: DocFile): string[] {
  const lines = file.text.split('\n');
  const marker = (start: number) => {
    let i = start - 1;
    while (i >= 0 && lines[i]!.trim() === '') i--;
    return i >= 0 ? lines[i]!.trim() : '';
  };
  const unmarked: string[] = [];
  for (const block of fences(file.text)) {
    if (!SHELL.has(block.info)) continue;
    const above = marker(block.start);
    if (MARKER.test(above)) continue;
    const reason = NOT_TESTED.exec(above)?.[1]?.trim();
    if (reason) continue;
    unmarked.push(
      `${file.name}:${block.start + 1}${NOT_TESTED.test(above) ? ' (a "not tested" marker without a reason)' : ''}`,
    );
  }
  return unmarked;
}

/** The marked examples of one file; a marker not followed by a block it can read throws, naming the line. */
export function examples(file: DocFile): Example[] {
  const lines = file.text.split('\n');
  const blocks = fences(file.text);
  const found: Example[] = [];
  lines.forEach((line, i) => {
    const marker = MARKER.exec(line.trim());
    if (!marker) return;
    const where = `${file.name}:${i + 2}`;
    const next = blocks.findIndex((b) => b.start > i);
    const block = blocks[next];
    if (!block || lines.slice(i + 1, block.start).some((l) => l.trim() !== ''))
      throw new Error(`${file.name}:${i + 1}: a test marker must stand right before a fenced block`);
    const addresses: [string, string][] = [];
    const variables: [string, string][] = [];
    for (const setting of (marker[1] ?? '').split(/\s+/).filter(Boolean)) {
      const [key, fixture] = setting.split('=');
      if (!key || !fixture)
        throw new Error(`${where}: bad setting "${setting}", expected address=fixture or NAME=fixture`);
      (/^[A-Z_][A-Z0-9_]*$/.test(key) ? variables : addresses).push([key, fixture]);
    }
    let commands: Command[];
    if (block.info === 'console') {
      commands = consoleCommands(block.body, where);
    } else if (block.info === 'sh') {
      // The output is the next block, with only blank lines between them.
      const output = blocks[next + 1];
      const gap = output ? lines.slice(block.end, output.start) : [];
      if (output?.info !== '' || gap.some((l) => l.trim() !== ''))
        throw new Error(`${where}: a tested sh block must be followed by a plain block with its output`);
      commands = [{ command: block.body.join('\n'), expected: trimEnd(output.body) }];
    } else {
      throw new Error(`${where}: a test marker must precede a console or sh block, not "${block.info}"`);
    }
    found.push({ where, addresses, variables, commands });
  });
  return found;
}

function consoleCommands(body: string[], where: string): Command[] {
  const commands: Command[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = body[i]!;
    if (!line.startsWith('$ ')) {
      const last = commands[commands.length - 1];
      if (!last) throw new Error(`${where}: output before the first command`);
      last.expected.push(line);
      continue;
    }
    const parts = [line.slice(2)];
    while (parts[parts.length - 1]!.endsWith('\\') && i + 1 < body.length) parts.push(body[++i]!);
    commands.push({ command: parts.join('\n'), expected: [] });
  }
  for (const c of commands) c.expected = trimEnd(c.expected);
  if (commands.length === 0) throw new Error(`${where}: no command (a line starting with "$ ")`);
  return commands;
}

function trimEnd(lines: string[]): string[] {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  return out;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `actual` fits `expected`: line by line, where a line `...` matches
 * any number of lines and `...` inside a line any text.
 */
export function fits(expected: string[], actual: string[]): boolean {
  const line = (pattern: string) => new RegExp(`^${pattern.split('...').map(escapeRegExp).join('.*')}$`);
  const match = (e: number, a: number): boolean => {
    if (e === expected.length) return a === actual.length;
    if (expected[e] === '...') {
      for (let k = a; k <= actual.length; k++) if (match(e + 1, k)) return true;
      return false;
    }
    return a < actual.length && line(expected[e]!).test(actual[a]!) && match(e + 1, a + 1);
  };
  return match(0, 0);
}
