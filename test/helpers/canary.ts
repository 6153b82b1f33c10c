// The canary CLI's process tests share this: real v1 and v2 servers (one
// in-process app per version, listening on loopback) behind weighted proxies
// whose weights come from the repository's VirtualService files, and the
// built CLI run as a user runs it.
import path from 'node:path';
import { buildApp } from '../../src/app.ts';
import type { VersionRow } from '../../src/cli/tally.ts';
import { loadConfig } from '../../src/config.ts';
import { assertFreshBuild, CLI_SCRIPT, type NodeProcess, ROOT } from '../../src/demo/processes.ts';
import { type Route, routeWeights, startWeightedProxy, type WeightedProxy } from '../../src/demo/weighted-proxy.ts';
import { VERSION_NAMES } from '../../src/versions.ts';
import { spawnNode, type Teardown } from './process.ts';

/** The proxies' seed: the counts per version depend only on it and the number of requests. */
const SEED = 20200714;

/** The repository's VirtualService file of a step: v1, 90-10, 50-50, v2. */
export const vsFile = (step: string) => path.join(ROOT, 'kubernetes', `ecadraft-virtual-service-${step}.yaml`);

export const fiftyFifty = routeWeights(vsFile('50-50'));

export interface Canary {
  /** A new proxy over the two servers with these weights (seeded), closed in the teardown. */
  proxyFor(routes: readonly Route[], stripHeaders?: string[]): Promise<WeightedProxy>;
}

export async function startCanary(t: Teardown): Promise<Canary> {
  const backends = new Map<string, string>();
  for (const version of VERSION_NAMES) {
    const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version }));
    backends.set(version, await app.listen({ port: 0, host: '127.0.0.1' }));
    t.teardown(() => app.close());
  }
  return {
    async proxyFor(routes, stripHeaders = []) {
      const list = routes.map((r) => ({ name: r.subset, url: backends.get(r.subset)!, weight: r.weight }));
      const proxy = await startWeightedProxy(list, { seed: SEED, stripHeaders });
      t.teardown(() => proxy.close());
      return proxy;
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI to its end, within `timeoutMs`; `whileRunning` gets the
 * process first (to wait for output, send a signal).
 */
export async function cli(
  t: Teardown,
  args: string[],
  whileRunning?: (child: NodeProcess) => Promise<void>,
  timeoutMs = 60_000,
): Promise<Run> {
  assertFreshBuild();
  const child = spawnNode(t, CLI_SCRIPT, { args });
  await whileRunning?.(child);
  const exit = await child.waitForExit(timeoutMs);
  return { code: exit.code, stdout: child.stdout, stderr: child.stderr };
}

export const expectation = (routes: readonly Route[]) => routes.map((r) => `${r.subset}=${r.weight}`).join(',');

/** The same two-version split moved 25 points, toward the smaller share. */
export function wrong(routes: readonly Route[]): string {
  const [first, second] = VERSION_NAMES;
  const share = routes.find((r) => r.subset === first)?.weight ?? 0;
  const moved = share >= 50 ? share - 25 : share + 25;
  return `${first}=${moved},${second}=${100 - moved}`;
}

/** `ecadraft split --json`'s report, as far as the tests read it. */
export interface SplitJson {
  answers: number;
  versions: VersionRow[];
  classifiedBy: { header: number; casing: number; none: number };
  errors: { total: number };
  expect?: { ok: boolean; checks: { version: string; ok: boolean }[] };
}

export const countOf = (report: SplitJson, version: string) =>
  report.versions.find((v) => v.version === version)?.count ?? 0;
