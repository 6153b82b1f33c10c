// The local control plane from the real components .ci/tools.sh builds: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake nodes,
// no pod stages), the pod runner (pod-runner.ts: each pod's real command as a
// loopback process), the Argo Rollouts controller and, where Debian's
// `prometheus` is installed, a Prometheus that scrapes the pods the pod runner
// lists. Every process is a daemon that outlives `up()`, with its pid,
// log and data under one state directory outside git; `down()` stops them.
//
// Everything listens on 127.0.0.1 but the Argo Rollouts controller, which
// binds its metrics and health ports on all addresses (it has no flag for the
// address): they are PORT_BASE+90 and +91, chosen to clash with nothing else.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { type Tool, toolDir, VERSIONS } from '../../src/demo/components.ts';
import { ROOT } from '../helpers/process.ts';
import { KubeApi } from './kube-api.ts';

/** The state directory: pids, logs, certificates, etcd's data, the kubeconfig. */
export const CLUSTER_DIR = process.env.ECADRAFT_CLUSTER_DIR ?? '/tmp/ecadraft-cluster';
const BASE = Number(process.env.ECADRAFT_CLUSTER_PORT_BASE ?? 26400);

/** The ports, all on 127.0.0.1 but Argo's two (see above). */
export const PORTS = {
  etcd: BASE + 1,
  etcdPeer: BASE + 2,
  apiserver: BASE + 43,
  controllerManager: BASE + 57,
  scheduler: BASE + 59,
  kwok: BASE + 47,
  prometheus: BASE + 80,
  argoMetrics: BASE + 90,
  argoHealthz: BASE + 91,
} as const;

/** The fake nodes: untainted, one zone each, for the pods' topology spread. */
export const NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2', 'kwok-node-3'];
/** Marks the nodes kwok manages (and the pod runner runs pods for). */
export const NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export interface Cluster {
  readonly dir: string;
  readonly kubectl: string;
  readonly kubeconfig: string;
  readonly server: string;
  /** Argo Rollouts' kubectl plugin (`kubectl argo rollouts`) is in this directory. */
  readonly pluginDir: string;
  /** Undefined where Debian's `prometheus` is not installed. */
  readonly prometheusUrl: string | undefined;
  api(): KubeApi;
}

const file = (...parts: string[]): string => path.join(CLUSTER_DIR, ...parts);

function tool(name: Tool): string {
  const dir = toolDir(name);
  if (dir === undefined) throw new Error(`${name} is not built: bash .ci/tools.sh ${name}`);
  return dir;
}

const SERVER = `https://127.0.0.1:${PORTS.apiserver}`;

/** A client of the API server, as the admin user. */
export function clusterApi(): KubeApi {
  return KubeApi.fromFiles(SERVER, file('pki', 'ca.crt'), file('pki', 'token'));
}

/** The cluster as `up()` left it, without checking that it still runs. */
export function cluster(): Cluster {
  const server = SERVER;
  const prometheus = existsSync(file('pids', 'prometheus.pid'));
  return {
    dir: CLUSTER_DIR,
    kubectl: path.join(tool('kubernetes'), 'bin/kubectl'),
    kubeconfig: file('kubeconfig'),
    server,
    pluginDir: path.join(tool('argo-rollouts'), 'bin'),
    prometheusUrl: prometheus ? `http://127.0.0.1:${PORTS.prometheus}` : undefined,
    api: clusterApi,
  };
}

/** Polls `check` until it holds; the bound is generous because the machine is shared. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** GET that resolves to the status code (TLS unchecked: the components' own self-signed serving certificates). */
function probe(url: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(
      url,
      { rejectUnauthorized: false, timeout: 2000, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// --- processes ---------------------------------------------------------------

function pidFile(name: string): string {
  return file('pids', `${name}.pid`);
}

/** The pid a pid file names, if that process still runs the same program. */
function livePid(pidPath: string): number | undefined {
  try {
    const [pid, program] = readFileSync(pidPath, 'utf8').split('\n');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return program && cmdline.includes(program) ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

function startDaemon(name: string, program: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const log = openSync(file('logs', `${name}.log`), 'a');
  const child = spawn(program, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ECADRAFT_TOOLS_CACHE: process.env.ECADRAFT_TOOLS_CACHE,
      ...env,
    },
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${program})`);
  writeFileSync(pidFile(name), `${child.pid}\n${program}\n`);
  child.unref();
}

/** Stops every process a pid file under `dir` names (SIGTERM, then SIGKILL), and waits until they are gone. */
async function stopAll(dir: string, only?: string[]): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const stopped: string[] = [];
  const pids: number[] = [];
  for (const name of only ?? readdirSync(dir)) {
    const pid = livePid(path.join(dir, name));
    if (pid === undefined) continue;
    // Each daemon leads its own process group (detached): the group goes too.
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      process.kill(pid, 'SIGTERM');
    }
    pids.push(pid);
    stopped.push(name.replace(/\.pid$/, ''));
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };
  await until('processes to stop', () => pids.every((pid) => !alive(pid)), 15_000).catch(() => {
    for (const pid of pids.filter(alive)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
    }
  });
  return stopped;
}

// --- configuration files -----------------------------------------------------

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, the API server's serving certificate, the service-account keys and the admin token. */
function writePki(): void {
  const pki = (name: string): string => file('pki', name);
  mkdirSync(file('pki'), { recursive: true });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '30',
    '-subj',
    '/CN=ecadraft-local-ca',
    '-keyout',
    pki('ca.key'),
    '-out',
    pki('ca.crt'),
  );
  writeFileSync(
    pki('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=kube-apiserver',
    '-keyout',
    pki('apiserver.key'),
    '-out',
    pki('apiserver.csr'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    pki('apiserver.csr'),
    '-CA',
    pki('ca.crt'),
    '-CAkey',
    pki('ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    pki('apiserver.ext'),
    '-out',
    pki('apiserver.crt'),
  );
  openssl('genrsa', '-out', pki('sa.key'), '2048');
  openssl('rsa', '-in', pki('sa.key'), '-pubout', '-out', pki('sa.pub'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(pki('token'), `${token}\n`, { mode: 0o600 });
  // One user, in system:masters: the components and the tests all act as it.
  writeFileSync(pki('tokens.csv'), `${token},ecadraft-admin,ecadraft-admin,"system:masters"\n`, { mode: 0o600 });
  writeFileSync(
    file('kubeconfig'),
    `apiVersion: v1
kind: Config
clusters:
  - name: ecadraft-local
    cluster:
      server: https://127.0.0.1:${PORTS.apiserver}
      certificate-authority: ${pki('ca.crt')}
users:
  - name: ecadraft-admin
    user:
      token: ${token}
contexts:
  - name: ecadraft-local
    context:
      cluster: ecadraft-local
      user: ecadraft-admin
      namespace: default
current-context: ecadraft-local
`,
    { mode: 0o600 },
  );
}

/**
 * kwok's configuration: the node stages of its default set (initialize, then
 * heartbeat), and no pod stage at all, so that nothing but the pod runner
 * ever says a pod is ready or done. kwok's default pod-ready and pod-complete
 * stages would mark every pod Ready at once and a Job's pod Succeeded.
 */
function writeKwokConfig(): void {
  const conditions = `
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ Now | Quote }}
        lastTransitionTime: {{ or $.metadata.creationTimestamp Now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}`;
  writeFileSync(
    file('kwok.yaml'),
    `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  serverAddress: 127.0.0.1:${PORTS.kwok}
  nodeIP: 127.0.0.1
  manageAllNodes: false
  manageNodesWithAnnotationSelector: ${NODE_ANNOTATION}=fake
  # kwok's defaults, which a configuration file must spell out.
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 1
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
      - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
        operator: NotIn
        values: ['True']
  next:
    statusTemplate: |${conditions}
      addresses:
      - address: 127.0.0.1
        type: InternalIP
      - address: {{ .metadata.name | Quote }}
        type: Hostname
      allocatable:
        cpu: 1k
        memory: 1Ti
        pods: 1M
      capacity:
        cpu: 1k
        memory: 1Ti
        pods: 1M
      nodeInfo:
        architecture: amd64
        kubeletVersion: kwok-${VERSIONS.KWOK_VERSION}
        kubeProxyVersion: kwok-${VERSIONS.KWOK_VERSION}
        operatingSystem: linux
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-heartbeat
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
      - key: '.status.phase'
        operator: In
        values: [Running]
  delay:
    durationMilliseconds: 20000
    jitterDurationMilliseconds: 25000
  next:
    statusTemplate: |${conditions}
`,
  );
}

/**
 * Prometheus with the targets the pod runner writes (Debian's build has no
 * Kubernetes discovery): the pods that carry prometheus.io/scrape, labelled
 * as Istio's sample add-on labels them (its `kubernetes-pods` job): their
 * namespace, name and every pod label.
 */
function writePrometheusConfig(): void {
  writeFileSync(
    file('prometheus.yml'),
    `global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: kubernetes-pods
    file_sd_configs:
      - files: [${SCRAPE_TARGETS}]
        refresh_interval: 5s
`,
  );
}

/** The pod runner's scrape targets, in Prometheus' file_sd format. */
export const SCRAPE_TARGETS = file('scrape-targets.json');

/** The pod runner's annotation: `127.0.0.1:<port>` where the pod's first container port listens. */
export const POD_ADDRESS_ANNOTATION = 'local.ecadraft.dev/address';

// --- up and down ---------------------------------------------------------------

async function isUp(c: Cluster): Promise<boolean> {
  if (!existsSync(file('up'))) return false;
  const names = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'pod-runner', 'argo'];
  if (!names.every((name) => livePid(pidFile(name)) !== undefined)) return false;
  const token = readFileSync(file('pki', 'token'), 'utf8').trim();
  return (await probe(`${c.server}/readyz`, token).catch(() => 0)) === 200;
}

/** Starts the control plane, or leaves a running one as it is; cleans up what a crashed run left. */
export async function up(log: (line: string) => void = () => {}): Promise<Cluster> {
  const c = cluster();
  if (await isUp(c)) {
    log(`cluster: already up in ${CLUSTER_DIR}`);
    return c;
  }
  const leftovers = await down();
  if (leftovers.length > 0) log(`cluster: stopped what a previous run left: ${leftovers.join(', ')}`);
  rmSync(CLUSTER_DIR, { recursive: true, force: true });
  for (const dir of ['pids', 'logs', 'pods', 'certs', 'tmp']) mkdirSync(file(dir), { recursive: true });
  writePki();
  writeKwokConfig();
  const bin = (t: Tool, name: string): string => path.join(tool(t), 'bin', name);
  const kube = (name: string): string => bin('kubernetes', name);
  const t0 = Date.now();
  const step = (what: string): void => log(`cluster: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  startDaemon('etcd', bin('etcd', 'etcd'), [
    '--name=ecadraft',
    `--data-dir=${file('etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${PORTS.etcd}`,
    `--advertise-client-urls=http://127.0.0.1:${PORTS.etcd}`,
    `--listen-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${PORTS.etcdPeer}`,
    `--initial-cluster=ecadraft=http://127.0.0.1:${PORTS.etcdPeer}`,
    // A throwaway store: no fsync keeps it quick on a busy disk.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await until('etcd', async () => (await probe(`http://127.0.0.1:${PORTS.etcd}/health`)) === 200);
  step('etcd ready');

  startDaemon('kube-apiserver', kube('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${PORTS.etcd}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${PORTS.apiserver}`,
    `--cert-dir=${file('certs')}`,
    `--tls-cert-file=${file('pki', 'apiserver.crt')}`,
    `--tls-private-key-file=${file('pki', 'apiserver.key')}`,
    `--client-ca-file=${file('pki', 'ca.crt')}`,
    `--token-auth-file=${file('pki', 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${file('pki', 'sa.pub')}`,
    `--service-account-signing-key-file=${file('pki', 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.96.0.0/16',
    // No kube-proxy or network behind the `kubernetes` Service's endpoints.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ]);
  const token = readFileSync(file('pki', 'token'), 'utf8').trim();
  await until('kube-apiserver', async () => (await probe(`${c.server}/readyz`, token)) === 200);
  step('kube-apiserver ready');

  const kubeconfig = file('kubeconfig');
  // What the controller manager and the scheduler share: the admin's
  // kubeconfig, their serving port on 127.0.0.1, one instance each.
  const controller = (port: number): string[] => [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${file('certs')}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
  startDaemon('kube-controller-manager', kube('kube-controller-manager'), [
    ...controller(PORTS.controllerManager),
    `--service-account-private-key-file=${file('pki', 'sa.key')}`,
    `--root-ca-file=${file('pki', 'ca.crt')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
  ]);
  startDaemon('kube-scheduler', kube('kube-scheduler'), controller(PORTS.scheduler));

  const api = c.api();
  try {
    for (const [i, name] of NODES.entries()) {
      await api.request('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [NODE_ANNOTATION]: 'fake' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'topology.kubernetes.io/region': 'local',
            'topology.kubernetes.io/zone': `local-${String.fromCharCode(97 + i)}`,
            type: 'kwok',
          },
        },
        spec: {},
      });
    }
    startDaemon('kwok', bin('kwok', 'kwok'), [`--kubeconfig=${kubeconfig}`, `--config=${file('kwok.yaml')}`]);
    startDaemon('pod-runner', process.execPath, ['--import=tsx', path.join(ROOT, 'test/cluster/pod-runner.ts')], {
      ECADRAFT_CLUSTER_DIR: CLUSTER_DIR,
      ECADRAFT_CLUSTER_PORT_BASE: String(BASE),
      // The namespaces' Envoys (mesh.ts) keep their files there: a crashed run's go with the state directory.
      TMPDIR: file('tmp'),
    });

    // The CRDs as the components' modules ship them, server-side: some are too
    // big for client-side apply's last-applied annotation.
    const crds = tool('crds');
    execFileSync(
      c.kubectl,
      [
        'apply',
        '--server-side',
        '--force-conflicts',
        ...['istio', 'gateway-api', 'argo-rollouts', 'prometheus-operator'].flatMap((d) => ['-f', path.join(crds, d)]),
      ],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    execFileSync(c.kubectl, ['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all'], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    step('CRDs established');

    await api.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'argo-rollouts' },
    });
    startDaemon(
      'argo',
      bin('argo-rollouts', 'rollouts-controller'),
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        `--metricsPort=${PORTS.argoMetrics}`,
        `--healthzPort=${PORTS.argoHealthz}`,
        '--loglevel=info',
      ],
      { POD_NAMESPACE: 'argo-rollouts' },
    );

    const prometheus = findOnPath('prometheus');
    if (prometheus !== undefined) {
      writePrometheusConfig();
      startDaemon('prometheus', prometheus, [
        `--config.file=${file('prometheus.yml')}`,
        `--storage.tsdb.path=${file('prometheus')}`,
        `--web.listen-address=127.0.0.1:${PORTS.prometheus}`,
        '--storage.tsdb.retention.time=2h',
      ]);
    }

    await until('the kwok nodes to be Ready', async () => {
      const nodes = await api.get('/api/v1/nodes');
      return (
        nodes?.items?.filter((n: { status?: { conditions?: { type: string; status: string }[] } }) =>
          n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
        ).length === NODES.length
      );
    });
    step('nodes Ready');
    await until(
      'kube-controller-manager',
      async () => (await probe(`https://127.0.0.1:${PORTS.controllerManager}/healthz`)) === 200,
    );
    await until('kube-scheduler', async () => (await probe(`https://127.0.0.1:${PORTS.scheduler}/healthz`)) === 200);
    await until(
      'the default ServiceAccount',
      async () => (await api.get('/api/v1/namespaces/default/serviceaccounts/default')) !== undefined,
    );
    await until(
      'the Argo Rollouts controller',
      async () => (await probe(`http://127.0.0.1:${PORTS.argoHealthz}/healthz`)) === 200,
    );
    await until('the pod runner', () => existsSync(file('pod-runner.ready')));
    if (prometheus !== undefined) {
      await until('Prometheus', async () => (await probe(`http://127.0.0.1:${PORTS.prometheus}/-/ready`)) === 200);
    }
    step('controllers up');
  } finally {
    api.close();
  }
  writeFileSync(file('up'), `${new Date().toISOString()}\n`);
  return cluster();
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Stops every process `up()` and the pod runner started; names the components it stopped. */
export async function down(): Promise<string[]> {
  rmSync(file('up'), { force: true });
  // The pod runner first, so that it starts no process while the rest stop.
  const runner = await stopAll(file('pids'), ['pod-runner.pid']);
  const daemons = await stopAll(file('pids'));
  const pods = await stopAll(file('pods'));
  return [...runner, ...daemons, ...(pods.length > 0 ? [`${pods.length} pod processes`] : [])];
}
