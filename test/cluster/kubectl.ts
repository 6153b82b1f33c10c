// What the real-component suites do on the local control plane: kubectl (of
// the pinned release, with Argo Rollouts' plugin on its PATH) as the docs run
// it, fresh namespaces, and waiting for what the API server reports.
import { execFile } from 'node:child_process';
import { ROOT } from '../helpers/process.ts';
import { type Cluster, until } from './control-plane.ts';
import type { KubeApi, KubeObject } from './kube-api.ts';

export interface Kubectl {
  /** kubectl with these args in the repository's root; resolves to stdout, rejects with stderr. */
  (args: string[], options?: { input?: string; namespace?: string }): Promise<string>;
  readonly cluster: Cluster;
  readonly api: KubeApi;
}

export function kubectlFor(cluster: Cluster): Kubectl {
  const api = cluster.api();
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, PATH: `${cluster.pluginDir}:${process.env.PATH}` };
  const run = (args: string[], options: { input?: string; namespace?: string } = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      const all = options.namespace === undefined ? args : ['--namespace', options.namespace, ...args];
      const child = execFile(cluster.kubectl, all, { cwd: ROOT, env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${all.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      });
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  return Object.assign(run, { cluster, api });
}

/** What a tap test offers for cleanup. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A namespace of its own for a test, deleted in its teardown. */
export async function freshNamespace(t: Teardown, kubectl: Kubectl, name: string): Promise<string> {
  await kubectl.api.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined);
  await until(
    `namespace ${name} to be gone`,
    async () => (await kubectl.api.get(`/api/v1/namespaces/${name}`)) === undefined,
  );
  await kubectl.api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await until(
    `the default ServiceAccount of ${name}`,
    async () => (await kubectl.api.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)) !== undefined,
  );
  t.teardown(() => kubectl.api.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined));
  return name;
}

/** Polls an object until `check` holds for it, and gives it back. */
export async function waitForObject(
  api: KubeApi,
  path: string,
  what: string,
  check: (o: KubeObject) => boolean,
  timeoutMs = 300_000,
): Promise<KubeObject> {
  let last: KubeObject | undefined;
  await until(
    what,
    async () => {
      last = await api.get(path);
      return last !== undefined && check(last);
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${JSON.stringify(last?.status ?? last)?.slice(0, 2000)}`);
  });
  return last as KubeObject;
}

/** The pods of a namespace that the pod runner reports Ready, with where their first port listens. */
export async function readyPods(api: KubeApi, namespace: string, selector: string): Promise<KubeObject[]> {
  const list = await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return (list?.items ?? []).filter(
    (p: KubeObject) =>
      !p.metadata.deletionTimestamp &&
      p.status?.conditions?.some((c: KubeObject) => c.type === 'Ready' && c.status === 'True'),
  );
}
