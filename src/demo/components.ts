// The real components built by .ci/tools.sh (Kubernetes, etcd, kwok, Argo
// Rollouts, Helm, Envoy, the CRDs), found where it caches them at the versions
// .ci/versions.env pins: the demo looks for Envoy here, the real suites for
// all of them (test/helpers/tools.ts).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './processes.ts';

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
