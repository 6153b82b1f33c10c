// Test helper: a real Prometheus (Debian's `prometheus` package; .ci/run
// installs it) on a loopback port, with a configuration and a storage
// directory of its own, stopped in the test's teardown. Queries go through
// its HTTP API, and the answer is handed over the way Argo Rollouts'
// Prometheus provider hands it to a condition: a vector or a matrix as an
// array of floats, a scalar as one float.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Result } from './argo-expr.ts';
import { HOST, request, sleep, type Teardown } from './process.ts';

/** The prometheus binary, or undefined when the package is not installed. */
export function findPrometheus(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  const binary = found.stdout.trim();
  return found.status === 0 && binary !== '' ? binary : undefined;
}

export interface ScrapeTarget {
  /** host:port of a server that answers GET /metrics. */
  address: string;
  /** Labels added to its series, as a Kubernetes service discovery would (namespace, pod). */
  labels: Record<string, string>;
}

export interface Prometheus {
  url: string;
  /** Instant query through /api/v1/query, answered as Argo's provider passes it to a condition. */
  query(promql: string): Promise<Result>;
  /** The raw `data` of an instant query. */
  queryRaw(promql: string): Promise<{ resultType: string; result: unknown }>;
  output(): string;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Prometheus' sample values are strings: "NaN", "+Inf", "-Inf" included. */
function sampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * Starts Prometheus scraping `targets` every `scrapeIntervalSeconds`, and
 * waits until it is ready. `honor_labels` as Istio's add-on sets it for pods,
 * so a series keeps the labels the app gives it.
 */
export async function startPrometheus(
  t: Teardown,
  binary: string,
  targets: readonly ScrapeTarget[],
  scrapeIntervalSeconds = 1,
): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ecadraft-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  // JSON is YAML: no need to format a YAML document by hand.
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s` },
      scrape_configs: [
        {
          job_name: 'ecadraft',
          honor_labels: true,
          static_configs: targets.map((target) => ({ targets: [target.address], labels: target.labels })),
        },
      ],
    }),
  );
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${HOST}:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  t.teardown(async () => {
    if (running) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const deadline = performance.now() + 20_000;
  for (;;) {
    const ready = await request(`${url}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (!running) throw new Error(`prometheus exited before it was ready:\n${output}`);
    if (performance.now() > deadline) throw new Error(`prometheus not ready within 20 s:\n${output}`);
    await sleep(100);
  }

  const queryRaw = async (promql: string): Promise<{ resultType: string; result: unknown }> => {
    const res = await request(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = JSON.parse(res.body) as {
      status: string;
      error?: string;
      data: { resultType: string; result: unknown };
    };
    if (body.status !== 'success') throw new Error(`prometheus refused ${promql}: ${body.error ?? res.body}`);
    return body.data;
  };

  return {
    url,
    queryRaw,
    async query(promql) {
      const data = await queryRaw(promql);
      switch (data.resultType) {
        case 'scalar':
          return sampleValue((data.result as [number, string])[1]);
        case 'vector':
          return (data.result as Array<{ value: [number, string] }>).map((s) => sampleValue(s.value[1]));
        case 'matrix':
          return (data.result as Array<{ values: Array<[number, string]> }>).flatMap((s) =>
            s.values.map((v) => sampleValue(v[1])),
          );
        default:
          throw new Error(`Prometheus metric type not supported: ${data.resultType}`);
      }
    },
    output: () => output,
  };
}
