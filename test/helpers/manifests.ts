// Offline checks for the Kubernetes and Istio manifests in kubernetes/: what
// `kubectl apply --dry-run=server` and `istioctl analyze` would catch, without
// a cluster. Every problem names the file, the object and what is wrong, so a
// failing test reads like a review comment.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import {
  type IGateway as IK8sGateway,
  Gateway as K8sGateway,
} from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute, type IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import {
  DestinationRule,
  type IDestinationRule,
} from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import {
  type IGateway as IIstioGateway,
  Gateway as IstioGateway,
} from '@kubernetes-models/istio/networking.istio.io/v1/Gateway';
import { type IVirtualService, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import {
  AuthorizationPolicy,
  type IAuthorizationPolicy,
} from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import {
  type IPeerAuthentication,
  PeerAuthentication,
} from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { type IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { type IService, Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';

// ---------------------------------------------------------------------------
// Types

export interface Manifest {
  /** Path as it should appear in messages (relative to the repository). */
  file: string;
  /** 0-based position among the file's documents. */
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  body: Record<string, unknown>;
  /**
   * Whether the document matches its schema's types. Cross-reference checks
   * read only these, so that they can trust the shapes the schema promises.
   */
  valid: boolean;
}

export interface Problem {
  file: string;
  /** `Kind/name`, or `document N` when the document has no usable identity. */
  object: string;
  message: string;
}

export const formatProblem = (p: Problem): string => `${p.file}: ${p.object}: ${p.message}`;

/** What the checks need to know about the service; the tests derive it from src/. */
export interface AppFacts {
  /** package.json's version: the image tag the manifests must use. */
  packageVersion: string;
  /**
   * The settings the app would run with in a container with this env; throws
   * with the app's own message when the app would refuse to start.
   */
  config(env: Record<string, string>): { port: number; shutdownDelayMs: number; shutdownTimeoutMs: number };
  /** Whether a GET of this path, on the listening app, answers 200. */
  serves(urlPath: string): Promise<boolean>;
}

const objectName = (m: Pick<Manifest, 'kind' | 'name'>): string => `${m.kind}/${m.name}`;

// ---------------------------------------------------------------------------
// Loading

/** The YAML files under dir (relative to root, `/`-separated, sorted), kustomization files aside. */
export function listManifestFiles(dir: string, root: string): string[] {
  return readdirSync(path.resolve(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !/(^|[\\/])kustomization\.ya?ml$/.test(f))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
}

const firstLine = (message: string): string => (message.split('\n')[0] ?? '').replace(/:$/, '');

interface LoadResult {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * Parses every document of each file. YAML 1.1 rules, as kubectl reads them,
 * so that `yes`/`on` become booleans here exactly as they would there.
 */
export function loadManifests(files: readonly string[], root: string): LoadResult {
  const manifests: Manifest[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const text = readFileSync(path.resolve(root, file), 'utf8');
    const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
    let index = 0;
    for (const doc of docs) {
      const where = `document ${index + 1}`;
      if (doc.errors.length > 0) {
        for (const e of doc.errors) problems.push({ file, object: where, message: `YAML: ${firstLine(e.message)}` });
        index++;
        continue;
      }
      const body: unknown = doc.toJS();
      // An empty document (a trailing `---`) is skipped by kubectl too.
      if (body === null || body === undefined) continue;
      if (typeof body !== 'object' || Array.isArray(body)) {
        problems.push({ file, object: where, message: 'a manifest must be a mapping' });
        index++;
        continue;
      }
      const b = body as Record<string, unknown>;
      const meta = b.metadata as Record<string, unknown> | undefined;
      const apiVersion = typeof b.apiVersion === 'string' ? b.apiVersion : '';
      const kind = typeof b.kind === 'string' ? b.kind : '';
      const name = typeof meta?.name === 'string' ? meta.name : '';
      const missing = [!apiVersion && 'apiVersion', !kind && 'kind', !name && 'metadata.name'].filter(Boolean);
      if (missing.length > 0) {
        problems.push({
          file,
          object: kind && name ? `${kind}/${name}` : where,
          message: `missing ${missing.join(', ')}`,
        });
        index++;
        continue;
      }
      manifests.push({ file, index, apiVersion, kind, name, body: b, valid: false });
      index++;
    }
  }
  return { manifests, problems };
}

// ---------------------------------------------------------------------------
// Schema validation, with unknown fields rejected

interface ModelClass {
  prototype: object;
}

/**
 * The kinds and API versions these manifests may use, each with the model
 * whose schema validates it. An apiVersion missing here (extensions/v1beta1,
 * networking.istio.io/v1alpha3, ...) is refused rather than waved through.
 */
const MODELS: ReadonlyMap<string, ModelClass> = new Map<string, ModelClass>([
  ['v1 Service', Service],
  ['apps/v1 Deployment', Deployment],
  ['policy/v1 PodDisruptionBudget', PodDisruptionBudget],
  ['autoscaling/v2 HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['networking.istio.io/v1 Gateway', IstioGateway],
  ['networking.istio.io/v1 DestinationRule', DestinationRule],
  ['networking.istio.io/v1 VirtualService', VirtualService],
  ['security.istio.io/v1 PeerAuthentication', PeerAuthentication],
  ['security.istio.io/v1 AuthorizationPolicy', AuthorizationPolicy],
  ['gateway.networking.k8s.io/v1 Gateway', K8sGateway],
  ['gateway.networking.k8s.io/v1 HTTPRoute', HTTPRoute],
  ['v1 ServiceAccount', ServiceAccount],
  ['argoproj.io/v1alpha1 Rollout', Rollout],
  ['argoproj.io/v1alpha1 AnalysisTemplate', AnalysisTemplate],
  ['monitoring.coreos.com/v1 PodMonitor', PodMonitor],
]);

export const SUPPORTED_KINDS: readonly string[] = [...MODELS.keys()];

interface Access {
  /** Property names the validator looked up on this object. */
  read: Set<string>;
  /** The validator enumerated the keys: a map (labels, resources), not a struct. */
  enumerated: boolean;
}

/**
 * Wraps a document so that every property lookup the schema validator makes is
 * recorded, per JSON pointer.
 *
 * Why this finds unknown fields: the packages ship their schemas compiled by
 * Ajv (kubernetes-models, istio) or as JSON Schema compiled by Ajv at run time
 * (gateway-api), and Ajv's code for `properties` looks up each property the
 * schema defines (`data.weight`), present or not, while it never looks at keys
 * the schema does not define unless it has to enumerate them
 * (`additionalProperties`, `patternProperties`: maps such as labels). So after
 * a validation, a key of a struct that was never looked up is one the schema
 * does not define. An object the validator reached but did not look into has
 * no declared properties (free-form, x-kubernetes-preserve-unknown-fields)
 * and is not judged.
 */
function recordAccesses(root: object, prototype: object): { proxy: object; accesses: Map<string, Access> } {
  const accesses = new Map<string, Access>();
  const wrap = (target: object, pointer: string): object => {
    let access = accesses.get(pointer);
    if (!access) {
      access = { read: new Set(), enumerated: false };
      accesses.set(pointer, access);
    }
    const a = access;
    return new Proxy(target, {
      get(t, key, receiver) {
        const value: unknown = Reflect.get(t, key, receiver);
        if (typeof key !== 'string') return value;
        a.read.add(key);
        if (Object.hasOwn(t, key) && value !== null && typeof value === 'object')
          return wrap(value, `${pointer}/${key}`);
        return value;
      },
      has(t, key) {
        if (typeof key === 'string') a.read.add(key);
        return Reflect.has(t, key);
      },
      ownKeys(t) {
        a.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
  };
  // The root inherits the model's prototype: the older base package finds the
  // schema id through `this`, and the newer ones call the validator on `this`.
  const rootTarget: object = Object.assign(Object.create(prototype) as object, root);
  return { proxy: wrap(rootTarget, ''), accesses };
}

/** `/spec/http/0/route/0/weight` -> `spec.http[0].route[0].weight` */
export function pointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out || '(document)';
}

function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function unknownFields(value: unknown, pointer: string, accesses: Map<string, Access>, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const access = accesses.get(pointer);
  if (!access) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      unknownFields(item, `${pointer}/${i}`, accesses, out);
    });
    return;
  }
  const declared = !access.enumerated && access.read.size > 0;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childPointer = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (declared && !access.read.has(key)) {
      const hint = closest(key, access.read);
      out.push(`unknown field ${pointerToPath(childPointer)}${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    unknownFields(child, childPointer, accesses, out);
  }
}

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function describeAjvError(e: AjvError): string {
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'enum' && Array.isArray(e.params?.allowedValues)) {
    message += `: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
    message += `: ${e.params.additionalProperty}`;
  }
  return `${pointerToPath(e.instancePath ?? '')} ${message}`;
}

/**
 * Validates a manifest against the schema of its kind and rejects fields the
 * schema does not define; marks it `valid` when the types are right.
 */
export function validateSchema(m: Manifest): Problem[] {
  const problem = (message: string): Problem => ({ file: m.file, object: objectName(m), message });
  const model = MODELS.get(`${m.apiVersion} ${m.kind}`);
  if (!model) {
    return [
      problem(
        `apiVersion ${m.apiVersion} kind ${m.kind} is not one of the current APIs these manifests may use (${SUPPORTED_KINDS.join(', ')})`,
      ),
    ];
  }
  const { proxy, accesses } = recordAccesses(m.body, model.prototype);
  const schemaErrors: string[] = [];
  try {
    (model.prototype as { validate(this: object): void }).validate.call(proxy);
  } catch (error) {
    const errors = (error as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw error;
    for (const e of errors) {
      const text = describeAjvError(e);
      if (!schemaErrors.includes(text)) schemaErrors.push(text);
    }
  }
  const unknown: string[] = [];
  unknownFields(m.body, '', accesses, unknown);
  m.valid = schemaErrors.length === 0;
  return [...schemaErrors.map((e) => problem(`schema: ${e}`)), ...unknown.map((u) => problem(u))];
}

// ---------------------------------------------------------------------------
// Cross-references

type Labels = Record<string, string>;

interface LabelSelector {
  matchLabels?: Labels | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

function selects(selector: LabelSelector | Labels, labels: Labels): boolean {
  const s: LabelSelector =
    'matchLabels' in selector || 'matchExpressions' in selector
      ? (selector as LabelSelector)
      : { matchLabels: selector as Labels };
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const showLabels = (labels: Labels): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '(none)';

function showSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) parts.push(`${e.key} ${e.operator} (${(e.values ?? []).join(',')})`);
  return parts.join(',') || '(everything)';
}

/** In-cluster short name of a Service host: `ecadraft`, `ecadraft.ns`, `ecadraft.ns.svc.cluster.local`. */
function serviceNameOfHost(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length <= 2 || host.endsWith('.svc') || host.endsWith('.svc.cluster.local')) return parts[0];
  return undefined;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (pattern.startsWith('*.'))
    return host.endsWith(pattern.slice(1)) || (host.startsWith('*.') && host.endsWith(pattern.slice(1)));
  return false;
}

function isZero(value: number | string | undefined | null): boolean {
  return value === 0 || value === '0' || value === '0%';
}

// Istio derives a port's protocol from `<protocol>[-<suffix>]` or appProtocol.
const ISTIO_PROTOCOLS = ['http', 'http2', 'https', 'grpc', 'grpc-web', 'tcp', 'tls', 'mongo', 'mysql', 'redis', 'udp'];

/** The identities of the ingress gateway, as istioctl and the istio/gateway Helm chart create it. */
export const INGRESS_GATEWAY_PRINCIPALS: readonly string[] = [
  'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
  'cluster.local/ns/istio-system/sa/istio-ingressgateway',
];
const READ_ONLY_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/** Kinds where files of the same name are successive steps that replace each other. */
const TRAFFIC_STEP_KINDS = new Set(['VirtualService', 'HTTPRoute']);

function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

type Container = NonNullable<NonNullable<IDeployment['spec']>['template']['spec']>['containers'][number];
type Probe = NonNullable<Container['readinessProbe']>;

interface Workload {
  manifest: Manifest;
  deployment: IDeployment;
  labels: Labels;
  containers: Container[];
  replicas: number;
}

/**
 * Checks that the manifests, taken together as the contents of one
 * namespace, refer to each other correctly and follow the rules of
 * shared/spec/kubernetes.md. Only schema-valid manifests are read.
 */
export async function checkManifests(all: readonly Manifest[], app: AppFacts): Promise<Problem[]> {
  const problems: Problem[] = [];
  const report = (m: Manifest, message: string): void => {
    problems.push({ file: m.file, object: objectName(m), message });
  };
  const manifests = all.filter((m) => m.valid);
  const ofKind = (apiVersion: string, kind: string): Manifest[] =>
    manifests.filter((m) => m.apiVersion === apiVersion && m.kind === kind);

  // -- Everything lands in the namespace the user applies to.
  for (const m of manifests) {
    const ns = (m.body.metadata as { namespace?: unknown }).namespace;
    if (ns !== undefined)
      report(
        m,
        `sets metadata.namespace ${String(ns)}; the walkthrough applies into the current namespace, where the other objects are looked up`,
      );
  }

  // -- An object that several files define must be the same in all of them,
  //    or re-applying one file silently changes what another set up (the
  //    walkthrough expects `service/ecadraft unchanged`).
  const firstDefinition = new Map<string, Manifest>();
  for (const m of manifests) {
    if (TRAFFIC_STEP_KINDS.has(m.kind)) continue;
    const key = `${apiGroup(m.apiVersion)} ${m.kind} ${m.name}`;
    const first = firstDefinition.get(key);
    if (!first) firstDefinition.set(key, m);
    else if (stableJson(first.body) !== stableJson(m.body)) {
      report(
        m,
        `differs from the ${objectName(first)} in ${first.file}; applying one file after the other would change it`,
      );
    }
  }

  // -- Workloads: what the pods look like.
  const workloads: Workload[] = [];
  const seenDeployments = new Set<string>();
  for (const m of ofKind('apps/v1', 'Deployment')) {
    if (seenDeployments.has(m.name)) continue;
    seenDeployments.add(m.name);
    const d = m.body as unknown as IDeployment;
    const template = d.spec?.template;
    workloads.push({
      manifest: m,
      deployment: d,
      labels: { ...(template?.metadata?.labels ?? {}) },
      containers: template?.spec?.containers ?? [],
      replicas: d.spec?.replicas ?? 1,
    });
  }
  const podsSelectedBy = (selector: LabelSelector | Labels): Workload[] =>
    workloads.filter((w) => selects(selector, w.labels));

  for (const w of workloads) await checkDeployment(w, workloads, app, (message) => report(w.manifest, message));

  // -- Services
  const services = new Map<string, { manifest: Manifest; service: IService; pods: Workload[] }>();
  for (const m of ofKind('v1', 'Service')) {
    const service = m.body as unknown as IService;
    const selector = service.spec?.selector ?? {};
    const pods = podsSelectedBy(selector);
    if (!services.has(m.name)) services.set(m.name, { manifest: m, service, pods });
    if (Object.keys(selector).length === 0) {
      report(m, 'has no selector, so no pods back it');
      continue;
    }
    if (pods.length === 0) report(m, `selector ${showLabels(selector)} selects no Deployment's pods`);
    for (const port of service.spec?.ports ?? []) {
      const label = `port ${port.name ?? port.port}`;
      const protocol = port.appProtocol ?? port.name ?? '';
      if (!ISTIO_PROTOCOLS.some((p) => protocol === p || protocol.startsWith(`${p}-`))) {
        report(
          m,
          `${label}: name "${port.name ?? ''}" does not tell Istio the protocol (http, http-<suffix>, ... or set appProtocol), so it is treated as opaque TCP`,
        );
      }
      const target = port.targetPort ?? port.port;
      for (const w of pods) {
        const ports = w.containers.flatMap((c) => c.ports ?? []);
        const found =
          typeof target === 'number'
            ? ports.some((p) => p.containerPort === target)
            : ports.some((p) => p.name === target);
        if (!found) {
          report(
            m,
            `${label}: targetPort ${JSON.stringify(target)} is not a container port of ${objectName(w.manifest)} (ports: ${ports.map((p) => `${p.name ?? '-'}=${p.containerPort}`).join(', ') || 'none'})`,
          );
        }
      }
    }
  }
  const serviceHost = (
    m: Manifest,
    what: string,
    host: string,
    port?: number,
  ): { name: string; pods: Workload[]; selector: Labels } | undefined => {
    const name = serviceNameOfHost(host);
    const s = name === undefined ? undefined : services.get(name);
    if (!s) {
      report(m, `${what}: host ${host} is not a Service defined here`);
      return undefined;
    }
    if (port !== undefined && !(s.service.spec?.ports ?? []).some((p) => p.port === port)) {
      report(m, `${what}: Service ${s.manifest.name} has no port ${port}`);
    }
    return { name: s.manifest.name, pods: s.pods, selector: s.service.spec?.selector ?? {} };
  };

  // -- DestinationRules: subsets per Service.
  const subsetsByService = new Map<string, Set<string>>();
  for (const m of ofKind('networking.istio.io/v1', 'DestinationRule')) {
    const dr = m.body as unknown as IDestinationRule;
    const host = dr.spec?.host ?? '';
    const target = serviceHost(m, 'spec.host', host);
    if (!dr.spec?.trafficPolicy?.outlierDetection) {
      report(m, 'has no trafficPolicy.outlierDetection, so a canary answering 5xx keeps its share of the traffic');
    }
    if (!target) continue;
    const names = subsetsByService.get(target.name) ?? new Set<string>();
    subsetsByService.set(target.name, names);
    for (const subset of dr.spec?.subsets ?? []) {
      names.add(subset.name);
      const labels: Labels = { ...target.selector, ...(subset.labels ?? {}) };
      if (podsSelectedBy(labels).length === 0) {
        report(
          m,
          `subset ${subset.name}: labels ${showLabels(subset.labels ?? {})} select none of Service ${target.name}'s pods (Deployments: ${target.pods.map((w) => `${w.manifest.name} ${showLabels(w.labels)}`).join('; ') || 'none'})`,
        );
      }
    }
  }

  // -- VirtualServices
  const istioGateways = new Map<string, IIstioGateway>();
  for (const m of ofKind('networking.istio.io/v1', 'Gateway'))
    istioGateways.set(m.name, m.body as unknown as IIstioGateway);
  for (const m of ofKind('networking.istio.io/v1', 'VirtualService')) {
    const vs = m.body as unknown as IVirtualService;
    const hosts = vs.spec?.hosts ?? [];
    for (const g of vs.spec?.gateways ?? []) {
      if (g === 'mesh') continue;
      const gateway = istioGateways.get(g);
      if (!gateway) {
        report(
          m,
          `gateway ${g} is not a Gateway defined here (Istio Gateways: ${[...istioGateways.keys()].join(', ') || 'none'})`,
        );
        continue;
      }
      const gatewayHosts = (gateway.spec?.servers ?? [])
        .flatMap((s) => s.hosts ?? [])
        .map((h) => h.replace(/^[^/]*\//, ''));
      for (const h of hosts) {
        if (!gatewayHosts.some((p) => hostMatches(p, h)))
          report(m, `host ${h} is not served by gateway ${g} (hosts: ${gatewayHosts.join(', ')})`);
      }
    }
    const checkDestination = (
      where: string,
      destination: { host: string; subset?: string; port?: { number?: number } },
    ): void => {
      const target = serviceHost(m, where, destination.host, destination.port?.number);
      if (!target || destination.subset === undefined) return;
      const subsets = subsetsByService.get(target.name);
      if (!subsets?.has(destination.subset)) {
        report(
          m,
          `${where}: subset ${destination.subset} is not defined for host ${destination.host} in any DestinationRule (subsets: ${[...(subsets ?? [])].join(', ') || 'none'})`,
        );
      }
    };
    (vs.spec?.http ?? []).forEach((rule, i) => {
      const where = `spec.http[${i}]`;
      const routes = rule.route ?? [];
      routes.forEach((r, j) => {
        checkDestination(`${where}.route[${j}].destination`, r.destination);
      });
      if (rule.mirror) checkDestination(`${where}.mirror`, rule.mirror);
      checkWeights(
        routes.map((r) => r.weight),
        `${where}.route`,
        (message) => report(m, message),
      );
    });
  }

  // -- Gateway API
  const k8sGateways = new Map<string, IK8sGateway>();
  for (const m of ofKind('gateway.networking.k8s.io/v1', 'Gateway'))
    k8sGateways.set(m.name, m.body as unknown as IK8sGateway);
  for (const m of ofKind('gateway.networking.k8s.io/v1', 'HTTPRoute')) {
    const route = m.body as unknown as IHTTPRoute;
    (route.spec.parentRefs ?? []).forEach((ref, i) => {
      if (
        (ref.group ?? 'gateway.networking.k8s.io') !== 'gateway.networking.k8s.io' ||
        (ref.kind ?? 'Gateway') !== 'Gateway'
      )
        return;
      const gateway = k8sGateways.get(ref.name);
      if (!gateway) {
        report(
          m,
          `spec.parentRefs[${i}]: Gateway ${ref.name} is not defined here (Gateways: ${[...k8sGateways.keys()].join(', ') || 'none'})`,
        );
      } else if (ref.sectionName !== undefined && !gateway.spec.listeners.some((l) => l.name === ref.sectionName)) {
        report(m, `spec.parentRefs[${i}]: Gateway ${ref.name} has no listener ${ref.sectionName}`);
      }
    });
    const checkBackend = (where: string, ref: { name: string; port?: number; group?: string; kind?: string }): void => {
      if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') return;
      if (ref.port === undefined) report(m, `${where}: a Service backend needs a port`);
      serviceHost(m, where, ref.name, ref.port);
    };
    (route.spec.rules ?? []).forEach((rule, i) => {
      const where = `spec.rules[${i}]`;
      const backends = rule.backendRefs ?? [];
      backends.forEach((b, j) => {
        checkBackend(`${where}.backendRefs[${j}]`, b);
      });
      (rule.filters ?? []).forEach((f, j) => {
        if (f.requestMirror)
          checkBackend(`${where}.filters[${j}].requestMirror.backendRef`, f.requestMirror.backendRef);
      });
      checkWeights(
        backends.map((b) => b.weight),
        `${where}.backendRefs`,
        (message) => report(m, message),
      );
    });
  }

  // -- Security and availability
  const selectorOf = (m: Manifest, selector: LabelSelector | undefined | null, what: string): Workload[] => {
    if (
      !selector ||
      (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
    ) {
      report(m, `${what} selects every pod in the namespace; scope it to ecadraft's pods`);
      return [];
    }
    const pods = podsSelectedBy(selector);
    if (pods.length === 0) report(m, `${what} ${showSelector(selector)} selects no Deployment's pods`);
    return pods;
  };
  for (const m of ofKind('security.istio.io/v1', 'PeerAuthentication')) {
    const pa = m.body as unknown as IPeerAuthentication;
    selectorOf(m, pa.spec?.selector, 'selector');
    const mode = pa.spec?.mtls?.mode;
    if (mode !== 'STRICT')
      report(m, `mtls.mode is ${mode ?? 'unset'}; STRICT is required so that only mesh traffic reaches the pods`);
  }
  for (const m of ofKind('security.istio.io/v1', 'AuthorizationPolicy')) {
    const ap = m.body as unknown as IAuthorizationPolicy;
    selectorOf(m, ap.spec?.selector, 'selector');
    const action = ap.spec?.action ?? 'ALLOW';
    if (action !== 'ALLOW')
      report(m, `action is ${action}; an ALLOW policy is needed so that whatever it does not admit is denied`);
    const rules = ap.spec?.rules ?? [];
    if (rules.length === 0) report(m, 'has no rules, so it admits nothing (or, without ALLOW, restricts nothing)');
    rules.forEach((rule, i) => {
      const where = `spec.rules[${i}]`;
      const sources = (rule.from ?? []).map((f) => f.source ?? {});
      if (sources.length === 0)
        report(m, `${where}: no from, so any caller is admitted; admit only the ingress gateway`);
      sources.forEach((source, j) => {
        const principals = source.principals ?? [];
        if (principals.length === 0)
          report(m, `${where}.from[${j}]: no principals, so callers other than the ingress gateway are admitted`);
        for (const p of principals) {
          if (!INGRESS_GATEWAY_PRINCIPALS.includes(p))
            report(
              m,
              `${where}.from[${j}]: principal ${p} is not the ingress gateway (${INGRESS_GATEWAY_PRINCIPALS.join(', ')})`,
            );
        }
      });
      const operations = (rule.to ?? []).map((t) => t.operation ?? {});
      if (operations.length === 0)
        report(
          m,
          `${where}: no to.operation.methods, so every method is admitted; admit ${READ_ONLY_METHODS.join('/')} only`,
        );
      operations.forEach((op, j) => {
        const methods = op.methods ?? [];
        if (methods.length === 0)
          report(
            m,
            `${where}.to[${j}]: no methods, so every method is admitted; admit ${READ_ONLY_METHODS.join('/')} only`,
          );
        for (const method of methods) {
          if (!READ_ONLY_METHODS.includes(method))
            report(m, `${where}.to[${j}]: method ${method} is not read-only (${READ_ONLY_METHODS.join(', ')})`);
        }
      });
    });
  }
  for (const m of ofKind('policy/v1', 'PodDisruptionBudget')) {
    const pdb = m.body as unknown as IPodDisruptionBudget;
    const pods = selectorOf(m, pdb.spec?.selector, 'selector');
    const { minAvailable, maxUnavailable } = pdb.spec ?? {};
    if (isZero(maxUnavailable) || minAvailable === '100%')
      report(m, 'allows no disruption at all, so node drains block forever');
    for (const w of pods) {
      if (typeof minAvailable === 'number' && minAvailable >= w.replicas) {
        report(
          m,
          `minAvailable ${minAvailable} is not below the ${w.replicas} replicas of ${objectName(w.manifest)}, so node drains block forever`,
        );
      }
    }
  }
  for (const m of ofKind('autoscaling/v2', 'HorizontalPodAutoscaler')) {
    const hpa = m.body as unknown as IHorizontalPodAutoscaler;
    const ref = hpa.spec?.scaleTargetRef;
    const target =
      ref && ref.kind === 'Deployment' && (ref.apiVersion ?? 'apps/v1') === 'apps/v1'
        ? workloads.find((w) => w.manifest.name === ref.name)
        : undefined;
    if (!target) {
      report(
        m,
        `scaleTargetRef ${ref?.apiVersion ?? ''} ${ref?.kind ?? ''}/${ref?.name ?? ''} is not a Deployment defined here`,
      );
    }
    const min = hpa.spec?.minReplicas ?? 1;
    const max = hpa.spec?.maxReplicas ?? 0;
    if (min > max) report(m, `minReplicas ${min} is above maxReplicas ${max}`);
    for (const metric of hpa.spec?.metrics ?? []) {
      const resource = metric.type === 'Resource' ? metric.resource : undefined;
      if (!target || !resource || resource.target.type !== 'Utilization') continue;
      for (const c of target.containers) {
        if (c.resources?.requests?.[resource.name] === undefined) {
          report(
            m,
            `scales on ${resource.name} utilization, but container ${c.name} of ${objectName(target.manifest)} requests no ${resource.name}, so the HPA cannot compute it`,
          );
        }
      }
    }
  }

  return problems;
}

function checkWeights(
  weights: Array<number | null | undefined>,
  where: string,
  report: (message: string) => void,
): void {
  if (weights.length === 0) return;
  // A single destination without a weight gets all the traffic.
  if (weights.length === 1 && (weights[0] === undefined || weights[0] === null)) return;
  if (weights.some((w) => w === undefined || w === null)) {
    report(`${where}: every destination needs a weight when there are several`);
    return;
  }
  const sum = weights.reduce<number>((a, w) => a + (w ?? 0), 0);
  if (sum !== 100) report(`${where}: weights ${weights.join(' + ')} add up to ${sum}, not 100`);
}

/** terminationDrainDuration from a `proxy.istio.io/config` annotation, in seconds. */
function sidecarDrainSeconds(proxyConfig: string | undefined): number | undefined {
  if (proxyConfig === undefined) return undefined;
  const value: unknown = (parseAllDocuments(proxyConfig)[0]?.toJS() as Record<string, unknown> | null | undefined)
    ?.terminationDrainDuration;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
  if (!match) return undefined;
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * scale;
}

function envOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined && e.value !== null) env[e.name] = e.value;
  return env;
}

async function checkDeployment(
  w: Workload,
  all: readonly Workload[],
  app: AppFacts,
  report: (message: string) => void,
): Promise<void> {
  const d = w.deployment;
  const spec = d.spec;
  if (!spec) return report('has no spec');
  const podSpec = spec.template.spec;

  // The pods' identity: what the Service, subsets and policies select on.
  const selector = spec.selector as LabelSelector;
  if (!selects(selector, w.labels))
    report(`selector ${showSelector(selector)} does not match its pod labels ${showLabels(w.labels)}`);
  const version = w.labels.version;
  if (version === undefined)
    report('pod template has no version label, so no DestinationRule subset can pick these pods');
  if (!Object.hasOwn(selector.matchLabels ?? {}, 'version'))
    report('selector does not include the version label, so it can claim the pods of the other version');
  for (const other of all) {
    if (other === w) continue;
    if (selects(selector, other.labels))
      report(`selector ${showSelector(selector)} also selects the pods of ${objectName(other.manifest)}`);
  }

  // Availability during rollouts and shutdown.
  const strategy = spec.strategy;
  if (strategy?.type === 'Recreate')
    report('strategy Recreate takes every pod away at once; use a RollingUpdate with maxUnavailable 0');
  else if (!isZero(strategy?.rollingUpdate?.maxUnavailable)) {
    report(
      `rollingUpdate.maxUnavailable is ${String(strategy?.rollingUpdate?.maxUnavailable ?? 'unset (25%)')}; it must be 0 so a rollout never takes the last ready pod away`,
    );
  }

  if (!podSpec) return report('pod template has no spec');
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  const sidecarDrain = sidecarDrainSeconds(spec.template.metadata?.annotations?.['proxy.istio.io/config']);
  if (sidecarDrain !== undefined && sidecarDrain >= grace) {
    report(
      `the sidecar's terminationDrainDuration ${sidecarDrain} s does not fit in terminationGracePeriodSeconds ${grace}`,
    );
  }
  const podSecurity = podSpec.securityContext ?? {};
  if (podSpec.containers.length === 0) report('has no containers');

  for (const c of podSpec.containers) {
    const say = (message: string): void => report(`container ${c.name}: ${message}`);
    const env = envOf(c);

    // The image: one image, retagged per release.
    const image = c.image ?? '';
    const at = image.lastIndexOf(':');
    const tag = at > image.lastIndexOf('/') ? image.slice(at + 1) : '';
    if (tag !== app.packageVersion)
      say(
        `image ${image} has tag ${tag || '(none, i.e. latest)'}, but package.json's version is ${app.packageVersion}`,
      );

    // The version this container serves.
    if (env.VERSION === undefined)
      say('env VERSION is not set, so the app would serve its default version whatever the version label says');
    else if (env.VERSION !== version)
      say(`env VERSION=${env.VERSION} does not match the pod's version label ${version ?? '(none)'}`);

    // What the app makes of this env: whether it starts, its port, its shutdown.
    let config: ReturnType<AppFacts['config']> | undefined;
    try {
      config = app.config(env);
    } catch (error) {
      say(`the app would refuse to start with this env: ${(error as Error).message}`);
    }

    const ports = c.ports ?? [];
    if (config) {
      const http = ports.find((p) => p.name === 'http');
      if (!http) say(`has no container port named http (the app listens on ${config.port})`);
      else if (http.containerPort !== config.port)
        say(`container port http is ${http.containerPort}, but the app listens on ${config.port}`);
      if (sidecarDrain !== undefined && sidecarDrain * 1000 < config.shutdownTimeoutMs) {
        say(
          `the sidecar's terminationDrainDuration ${sidecarDrain} s is shorter than the app's shutdown (up to SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} ms), so Envoy stops while the app still drains`,
        );
      }
      if (grace * 1000 <= config.shutdownTimeoutMs) {
        say(
          `terminationGracePeriodSeconds ${podSpec.terminationGracePeriodSeconds ?? '(default 30)'} does not exceed the app's shutdown (SHUTDOWN_DELAY_MS ${config.shutdownDelayMs} ms plus draining, at most SHUTDOWN_TIMEOUT_MS ${config.shutdownTimeoutMs} ms), so the kubelet kills it mid-drain`,
        );
      }
    }

    // Probes: the right endpoints, served by the app, on the app's port.
    const probes: Array<[string, Probe | undefined, string]> = [
      ['readinessProbe', c.readinessProbe ?? undefined, '/readyz'],
      ['livenessProbe', c.livenessProbe ?? undefined, '/healthz'],
      ['startupProbe', c.startupProbe ?? undefined, ''],
    ];
    for (const [kind, probe, expected] of probes) {
      if (!probe) {
        say(`has no ${kind}`);
        continue;
      }
      const get = probe.httpGet;
      if (!get) {
        say(`${kind} is not an httpGet probe`);
        continue;
      }
      const p = get.path ?? '/';
      if (expected && p !== expected) say(`${kind} uses ${p}; it must be ${expected}`);
      if (!(await app.serves(p))) say(`${kind} path ${p} is not served by the app (GET does not answer 200)`);
      const port = get.port;
      const containerPort =
        typeof port === 'number' ? ports.find((q) => q.containerPort === port) : ports.find((q) => q.name === port);
      if (!containerPort) say(`${kind} port ${JSON.stringify(port)} is not a port of this container`);
      else if (config && containerPort.containerPort !== config.port)
        say(
          `${kind} port ${JSON.stringify(port)} is ${containerPort.containerPort}, but the app listens on ${config.port}`,
        );
    }

    // Resources: requests for scheduling and the HPA, limits against runaways.
    for (const bound of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory']) {
        if (c.resources?.[bound]?.[resource] === undefined)
          say(`sets no ${resource} ${bound === 'requests' ? 'request' : 'limit'}`);
      }
    }

    // The restricted Pod Security Standard, and a read-only root.
    const sc = c.securityContext ?? {};
    const runAsUser = sc.runAsUser ?? podSecurity.runAsUser;
    const runAsNonRoot = sc.runAsNonRoot ?? podSecurity.runAsNonRoot;
    const seccomp = sc.seccompProfile?.type ?? podSecurity.seccompProfile?.type;
    if (runAsNonRoot !== true) say('runAsNonRoot is not true');
    if (runAsUser === undefined || runAsUser === 0)
      say(`runAsUser is ${runAsUser ?? 'unset'}; it must be a numeric non-root user`);
    if (sc.allowPrivilegeEscalation !== false) say('allowPrivilegeEscalation is not false');
    if (sc.privileged === true) say('runs privileged');
    if (sc.readOnlyRootFilesystem !== true) say('readOnlyRootFilesystem is not true');
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) say('does not drop ALL capabilities');
    if ((sc.capabilities?.add ?? []).length > 0) say(`adds capabilities ${(sc.capabilities?.add ?? []).join(', ')}`);
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      say(`seccompProfile is ${seccomp ?? 'unset'}; it must be RuntimeDefault`);
  }
}

// ---------------------------------------------------------------------------
// File contents

export interface ExpectedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** For a VirtualService or HTTPRoute step: per rule, the weight per subset or Service. */
  weights?: Array<Record<string, number>>;
}

/**
 * A walkthrough file must hold exactly these objects in this order: users
 * apply it by name and the walkthrough shows what kubectl prints for it.
 */
export function checkFileObjects(
  manifests: readonly Manifest[],
  file: string,
  expected: readonly ExpectedObject[],
): Problem[] {
  const inFile = manifests.filter((m) => m.file === file);
  const show = (o: { apiVersion: string; kind: string; name: string }): string =>
    `${o.kind}/${o.name} (${o.apiVersion})`;
  const problems: Problem[] = [];
  const actual = inFile.map(show).join(', ') || 'nothing';
  const wanted = expected.map(show).join(', ');
  if (actual !== wanted) {
    const first = inFile[0];
    problems.push({
      file,
      object: first ? objectName(first) : 'document 1',
      message: `holds ${actual}; expected exactly ${wanted}, in that order`,
    });
    return problems;
  }
  expected.forEach((e, i) => {
    const m = inFile[i];
    if (!m || !e.weights) return;
    const actualWeights = routeWeights(m);
    if (stableJson(actualWeights) !== stableJson(e.weights)) {
      problems.push({
        file,
        object: objectName(m),
        message: `routes ${showWeights(actualWeights)}; this step must route ${showWeights(e.weights)}`,
      });
    }
  });
  return problems;
}

const showWeights = (rules: Array<Record<string, number>>): string =>
  rules
    .map(
      (w) =>
        `[${Object.entries(w)
          .map(([k, v]) => `${v} to ${k}`)
          .join(', ')}]`,
    )
    .join(', then ') || 'nothing';

/**
 * Per rule, in order, the weight per destination subset (VirtualService) or
 * Service (HTTPRoute); a lone destination without a weight gets 100.
 */
export function routeWeights(m: Manifest): Array<Record<string, number>> {
  const rule = (destinations: Array<[string, number | null | undefined]>): Record<string, number> => {
    const weights: Record<string, number> = {};
    for (const [key, weight] of destinations)
      weights[key] = (weights[key] ?? 0) + (weight ?? (destinations.length === 1 ? 100 : 0));
    return weights;
  };
  if (m.kind === 'VirtualService') {
    return ((m.body as unknown as IVirtualService).spec?.http ?? []).map((r) =>
      rule((r.route ?? []).map((d) => [d.destination.subset ?? d.destination.host, d.weight])),
    );
  }
  if (m.kind === 'HTTPRoute') {
    return ((m.body as unknown as IHTTPRoute).spec.rules ?? []).map((r) =>
      rule((r.backendRefs ?? []).map((b) => [b.name, b.weight])),
    );
  }
  return [];
}

// ---------------------------------------------------------------------------
// kustomization.yaml

/**
 * The kustomization must build from files that exist, and its `images:`
 * override must keep the release tag, or `kubectl apply -k` deploys another
 * release than the one the manifests were checked for.
 */
export function checkKustomization(file: string, root: string, packageVersion: string): Problem[] {
  const problems: Problem[] = [];
  const text = readFileSync(path.resolve(root, file), 'utf8');
  const doc = parseAllDocuments(text, { version: '1.1', uniqueKeys: true });
  const first = Array.isArray(doc) ? doc[0] : undefined;
  const k = (first?.toJS() ?? {}) as {
    kind?: string;
    metadata?: { name?: string };
    resources?: unknown;
    images?: unknown;
  };
  const object = `${k.kind ?? 'Kustomization'}/${k.metadata?.name ?? path.basename(path.dirname(path.resolve(root, file)))}`;
  const say = (message: string): void => {
    problems.push({ file, object, message });
  };
  if (first && first.errors.length > 0) {
    say(`YAML: ${firstLine(first.errors[0]?.message ?? '')}`);
    return problems;
  }
  const dir = path.dirname(path.resolve(root, file));
  for (const r of Array.isArray(k.resources) ? (k.resources as unknown[]) : []) {
    if (typeof r !== 'string' || !existsSync(path.resolve(dir, r))) say(`resource ${String(r)} does not exist`);
  }
  const images = Array.isArray(k.images) ? (k.images as Array<Record<string, unknown>>) : [];
  const ecadraft = images.filter((i) => i.name === 'ecadraft');
  if (ecadraft.length === 0) say('has no images: entry for ecadraft, so the image cannot be pointed at a registry');
  for (const i of ecadraft) {
    if (i.newTag !== undefined && String(i.newTag) !== packageVersion) {
      say(`images: ecadraft newTag ${String(i.newTag)} is not package.json's version ${packageVersion}`);
    }
  }
  return problems;
}
