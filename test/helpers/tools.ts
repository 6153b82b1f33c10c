// The real components built by .ci/tools.sh (Kubernetes, etcd, kwok, Argo
// Rollouts, Helm, Envoy, the CRDs), found where it caches them at the versions
// .ci/versions.env pins. A suite that needs one asks `needTool`: without it the
// suite skips and says how to build it, except in CI, where a missing tool
// fails the suite, so a green CI always ran the real components.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './process.ts';

/** The pins of .ci/versions.env, by name (`KUBERNETES_VERSION` ...). */
export const VERSIONS: Readonly<Record<string, string>> = Object.fromEntries(
  readFileSync(path.join(ROOT, '.ci/versions.env'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z_]+)=(\S+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
);

/** The cache .ci/tools-cache.sh chooses. */
export function toolsCache(): string {
  if (process.env.ECADRAFT_TOOLS_CACHE) return process.env.ECADRAFT_TOOLS_CACHE;
  const system = '/var/cache/ecadraft/tools';
  if (existsSync(system)) return system;
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'ecadraft/tools');
}

const DIRS = {
  kubernetes: () => `kubernetes-${VERSIONS.KUBERNETES_VERSION}`,
  etcd: () => `etcd-${VERSIONS.ETCD_VERSION}`,
  kwok: () => `kwok-${VERSIONS.KWOK_VERSION}`,
  'argo-rollouts': () => `argo-rollouts-${VERSIONS.ARGO_ROLLOUTS_VERSION}`,
  helm: () => `helm-${VERSIONS.HELM_VERSION}`,
  envoy: () => `envoy-${VERSIONS.ENVOY_VERSION}`,
  crds: () =>
    `crds-istio${VERSIONS.ISTIO_VERSION}-gw${VERSIONS.GATEWAY_API_VERSION}` +
    `-argo${VERSIONS.ARGO_ROLLOUTS_VERSION}-pom${VERSIONS.PROMETHEUS_OPERATOR_VERSION}`,
} as const;

export type Tool = keyof typeof DIRS;

/** The directory of a built component, or undefined where it is not built. */
export function toolDir(tool: Tool): string | undefined {
  const dir = path.join(toolsCache(), DIRS[tool]());
  return existsSync(path.join(dir, '.done')) ? dir : undefined;
}

/** What a tap test object offers for skipping (a plan of 0 with a reason) and failing. */
interface Skippable {
  plan(count: number, reason: string): void;
  fail(message: string): void;
  end(): void;
}

/**
 * The directories of the tools a suite needs, or undefined after skipping (or,
 * in CI, failing) the suite with a message naming what is missing.
 */
export function needTools<T extends Tool>(t: Skippable, ...tools: T[]): Record<T, string> | undefined {
  const found = Object.fromEntries(tools.map((tool) => [tool, toolDir(tool)])) as Record<T, string | undefined>;
  const missing = tools.filter((tool) => found[tool] === undefined);
  if (missing.length === 0) return found as Record<T, string>;
  const message = `needs ${missing.join(', ')} from \`bash .ci/tools.sh ${missing.join(' ')}\` (cache: ${toolsCache()})`;
  if (process.env.CI) {
    t.fail(message);
    t.end();
  } else t.plan(0, message);
  return undefined;
}
