// The chart in charts/ecadraft as real Helm renders it, read like the files
// of kubernetes/ (manifests.ts), and what the docs tell a reader to run with
// it: the `helm install` / `helm upgrade` commands of a walkthrough, replayed
// as the values each release holds after them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { fences } from './doc-examples.ts';
import { type LoadResult, type Manifest, parseManifests } from './manifests.ts';
import type { Teardown } from './process.ts';
import { ROOT } from './process.ts';

export const CHART = 'charts/ecadraft';

/** The labels Helm's conventions put on every object the chart renders, and kubernetes/ has not. */
export const HELM_LABELS = [
  'helm.sh/chart',
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
] as const;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export type Helm = (...args: string[]) => Run;

/** Runs the helm of `dir` in the repository, with a configuration and cache of its own (removed in t's teardown). */
export function helmIn(t: Teardown, dir: string): Helm {
  const home = mkdtempSync(path.join(tmpdir(), 'ecadraft-helm-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const env = {
    ...process.env,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
  };
  return (...args) => {
    const run = spawnSync(path.join(dir, 'bin/helm'), args, { cwd: ROOT, env, encoding: 'utf8' });
    if (run.error) throw run.error;
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  };
}

/**
 * The documents of `helm template`'s output, each under the template that
 * rendered it (`charts/ecadraft/templates/service.yaml`), as the checks name
 * files.
 */
export function parseRendered(text: string, into: LoadResult = { manifests: [], problems: [] }): LoadResult {
  for (const chunk of text.split(/^---\s*$/m)) {
    const source = /^# Source: (\S+)$/m.exec(chunk)?.[1];
    if (source) parseManifests(path.posix.join('charts', source), chunk, into);
  }
  return into;
}

/** `group kind name`: what identifies an object in a namespace. */
export const objectKey = (m: Pick<Manifest, 'apiVersion' | 'kind' | 'name'>): string =>
  `${m.apiVersion.includes('/') ? m.apiVersion.slice(0, m.apiVersion.indexOf('/')) : 'core'} ${m.kind} ${m.name}`;

// ---------------------------------------------------------------------------
// Commands in the docs

/** A release as `helm template` renders it: its name and its value flags. */
export interface Release {
  name: string;
  flags: string[];
}

/** Flags that say how to install, not what: `helm template` takes none of them. */
const HOW = new Set([
  '--wait',
  '--create-namespace',
  '--reuse-values',
  '--install',
  '--atomic',
  '--rollback-on-failure',
]);
const HOW_WITH_ARGUMENT = new Set(['-n', '--namespace', '--timeout']);

/**
 * The releases after each command, in order, from `start`: `helm install
 * NAME CHART FLAGS` adds one, `helm upgrade NAME CHART FLAGS` replaces its
 * flags (or adds to them with --reuse-values), `helm uninstall NAMES` removes
 * them. Throws on a command it cannot read or that Helm would refuse in that
 * state, naming it.
 */
export function replay(commands: readonly string[], start: readonly Release[] = []): Release[][] {
  const releases = new Map(start.map((r) => [r.name, r.flags]));
  const states: Release[][] = [];
  for (const command of commands) {
    const [helm, verb, ...rest] = command.trim().split(/\s+/);
    if (helm !== 'helm') throw new Error(`not a helm command: ${command}`);
    if (verb === 'uninstall') {
      for (const name of rest.filter((word) => !word.startsWith('-'))) {
        if (!releases.delete(name)) throw new Error(`${name} is not installed: ${command}`);
      }
    } else if (verb === 'install' || verb === 'upgrade') {
      const [name, chart, ...words] = rest;
      if (!name || chart !== CHART) throw new Error(`expected helm ${verb} NAME ${CHART} ...: ${command}`);
      if (verb === 'install' && releases.has(name)) throw new Error(`${name} is installed already: ${command}`);
      if (verb === 'upgrade' && !releases.has(name) && !words.includes('--install'))
        throw new Error(`${name} is not installed: ${command}`);
      const flags: string[] = [];
      for (let i = 0; i < words.length; i++) {
        const word = words[i] ?? '';
        if (HOW_WITH_ARGUMENT.has(word)) i++;
        else if (!HOW.has(word)) flags.push(word);
      }
      releases.set(name, words.includes('--reuse-values') ? [...(releases.get(name) ?? []), ...flags] : flags);
    } else {
      throw new Error(`expected helm install, upgrade or uninstall: ${command}`);
    }
    states.push([...releases].map(([name, flags]) => ({ name, flags })));
  }
  return states;
}

/**
 * The chart's `helm` lines of each sh block of a Markdown text. A block that
 * starts with `helm install` starts from an empty namespace; any other
 * continues where the block before it left off.
 */
export function helmScenarios(markdown: string): string[][] {
  const scenarios: string[][] = [];
  for (const block of fences(markdown).filter((b) => b.info === 'sh')) {
    const commands = block.body.filter((line) => /^helm (install|upgrade|uninstall) /.test(line));
    if (commands.length === 0) continue;
    if (commands[0]?.startsWith('helm install') || scenarios.length === 0) scenarios.push(commands);
    else scenarios[scenarios.length - 1]?.push(...commands);
  }
  return scenarios;
}

/** The rows of docs/istio.md's table `| step | kubectl | Helm |`: the files each step applies, and its helm command. */
export function helmTable(markdown: string): Array<{ step: string; kubectl: string[]; helm: string }> {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => /^\|\s*step\s*\|\s*kubectl\s*\|\s*Helm\s*\|/.test(l));
  if (header < 0) throw new Error('no table | step | kubectl | Helm |');
  const rows = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const [step = '', kubectl = '', helm = ''] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    rows.push({
      step,
      kubectl: [...kubectl.matchAll(/-f (\S+?)(?=[`\s])/g)].map((m) => m[1] ?? ''),
      helm: helm.replaceAll('`', ''),
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------
// The chart's README

/**
 * The rows of the chart README's values table, from values.yaml: one per key
 * whose comment has a line `# -- meaning`, with its path and default.
 * Defaults that are non-empty maps or lists are left to values.yaml.
 */
export function valuesTable(valuesYaml: string): string[] {
  const rows: string[] = [];
  const walk = (map: unknown, prefix: string): void => {
    if (!isMap(map)) return;
    map.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const keyPath = prefix ? `${prefix}.${key}` : key;
      // The comment before a map's first key is the map's own.
      const comment =
        (pair.key as { commentBefore?: string | null }).commentBefore ?? (i === 0 ? map.commentBefore : '');
      const doc = comment
        ?.split('\n')
        .map((line) => /^\s*-- (.*)$/.exec(line)?.[1])
        .findLast((line) => line !== undefined);
      if (doc !== undefined) {
        const value: unknown = isScalar(pair.value) ? pair.value.value : (pair.value as { toJSON(): unknown }).toJSON();
        const shown =
          value !== null && typeof value === 'object' && Object.keys(value).length > 0
            ? 'see values.yaml'
            : `\`${JSON.stringify(value)}\``;
        rows.push(`| \`${keyPath}\` | ${shown} | ${doc.replaceAll('|', '\\|')} |`);
      } else walk(pair.value, keyPath);
    });
  };
  walk(parseDocument(valuesYaml).contents, '');
  return rows;
}
