// The mesh's data plane for the real-component tests: a real Envoy configured
// from the repository's routing files (src/demo/envoy.ts, envoy-config.ts) in
// front of real ecadraft processes, two pods per version unless a test asks
// otherwise, each torn down with its test.
import path from 'node:path';
import { Envoy, type EnvoyOptions, findEnvoy, type Pod } from '../../src/demo/envoy.ts';
import { type Env, ROOT, type RunningServer, request, startServer, type Teardown } from './process.ts';
import { needTools } from './tools.ts';

export { Envoy, type Pod };

/** The repository's VirtualService file of a step: v1, 90-10, 50-50, v2, header-canary, mirror. */
export const stepFile = (step: string) => path.join(ROOT, 'kubernetes', `ecadraft-virtual-service-${step}.yaml`);

/** What a tap test offers for skipping (a plan of 0 with the reason) and failing. */
interface Planned {
  plan(count: number, reason: string): void;
  fail(message: string): void;
  end(): void;
}

/**
 * Whether Envoy is there (cached by .ci/tools.sh, or `envoy` on PATH);
 * otherwise the test is skipped (failed in CI) with the command that builds it.
 */
export function needEnvoy(t: Planned): boolean {
  if (findEnvoy()) return true;
  // Skipping is a plan of 0 with the reason, whichever way needTools asks for it.
  const skippable = {
    skip: (reason: string) => t.plan(0, reason),
    plan: (count: number, reason: string) => t.plan(count, reason),
    fail: (message: string) => t.fail(message),
    end: () => t.end(),
  };
  return needTools(skippable, 'envoy') !== undefined;
}

export interface MeshPod extends Pod {
  name: string;
  server: RunningServer;
}

export interface MeshOptions {
  /** The first step's VirtualService (default: v1). */
  step?: string;
  /** Each subset's pods, by the environment each one runs with (default: two plain pods per version). */
  pods?: Record<string, Env[]>;
  /** What every pod runs with, under each pod's own settings. */
  env?: Env;
  envoy?: Omit<EnvoyOptions, 'routes'>;
}

export interface Mesh {
  envoy: Envoy;
  pods: MeshPod[];
  /** The gateway: `http://127.0.0.1:<port>` */
  url: string;
}

/**
 * Starts the pods, then Envoy with every pod in its subset's endpoints from
 * the start, as Istio's first EDS response warms a cluster. (Envoy holds back an outlier
 * ejection that comes within its update_merge_window, 1 s by default and left
 * so by Istio, after an endpoint update until the window ends: counts taken
 * right after an update would show more 500s than the five.)
 */
export async function startMesh(t: Teardown, options: MeshOptions = {}): Promise<Mesh> {
  const layout = options.pods ?? { v1: [{}, {}], v2: [{}, {}] };
  const pods = await Promise.all(
    Object.entries(layout).flatMap(([subset, envs]) =>
      envs.map(async (env, i) => {
        const server = await startServer(t, { VERSION: subset, ...options.env, ...env });
        return { name: `${subset}-${i + 1}`, subset, url: server.url, server };
      }),
    ),
  );
  const endpoints = Object.fromEntries(
    Object.keys(layout).map((subset) => [subset, pods.filter((p) => p.subset === subset)]),
  );
  const envoy = await Envoy.start({ routes: stepFile(options.step ?? 'v1'), endpoints, ...options.envoy });
  t.teardown(() => envoy.stop());
  return { envoy, pods, url: envoy.url };
}

/** A pod's count of answered requests, from its /metrics (`ecadraft_http_requests_total`), for a route and status. */
export async function servedCount(pod: Pod, route: string, status?: number): Promise<number> {
  const text = (await request(`${pod.url}/metrics`)).body;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('ecadraft_http_requests_total{')) continue;
    if (!line.includes(`route="${route}"`)) continue;
    if (status !== undefined && !line.includes(`status_code="${status}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export interface Answer {
  status: number;
  version: string | undefined;
  body: string;
}

/** `n` requests one after another, each answer's status, version header and body. */
export async function sendMany(url: string, n: number, headers: Record<string, string> = {}): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) {
    const answer = await request(url, { headers });
    const version = answer.headers['x-ecadraft-version'];
    answers.push({
      status: answer.status,
      version: typeof version === 'string' ? version : undefined,
      body: answer.body,
    });
  }
  return answers;
}

/** Counts answers by `<status> <version>`: `{"200 v1": 97, "503 -": 103}`. */
export function tallyAnswers(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = `${a.status} ${a.version ?? '-'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
