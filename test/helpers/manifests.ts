// Loading and schema validation of the Kubernetes and Istio manifests in
// kubernetes/: what `kubectl apply --dry-run=server` would catch, without a
// cluster. The cross-references (what `istioctl analyze` would catch, and the
// rules of a canary that holds on a real cluster) are in manifest-checks/;
// the walkthrough files' contents and the docs that describe them in
// manifest-files.ts. Every problem names the file, the object and what is
// wrong, so a failing test reads like a review comment.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import { Gateway as K8sGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { Gateway as IstioGateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway';
import { Sidecar } from '@kubernetes-models/istio/networking.istio.io/v1/Sidecar';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
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

export const objectName = (m: Pick<Manifest, 'kind' | 'name'>): string => `${m.kind}/${m.name}`;

// ---------------------------------------------------------------------------
// Loading

/** The YAML files under dir (relative to root, `/`-separated, sorted), kustomization files aside. */
export function listManifestFiles(dir: string, root: string): string[] {
  return readdirSync(path.resolve(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !/(^|[\\/])kustomization\.ya?ml$/.test(f))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')))
    .sort();
}

export const firstLine = (message: string): string => (message.split('\n')[0] ?? '').replace(/:$/, '');

export interface LoadResult {
  manifests: Manifest[];
  problems: Problem[];
}

/**
 * Parses every document of each file. YAML 1.1 rules, as kubectl reads them,
 * so that `yes`/`on` become booleans here exactly as they would there.
 */
export function loadManifests(files: readonly string[], root: string): LoadResult {
  const result: LoadResult = { manifests: [], problems: [] };
  for (const file of files) parseManifests(file, readFileSync(path.resolve(root, file), 'utf8'), result);
  return result;
}

/** The documents of one file's text (or of a renderer's output for `file`), added to `into`. */
export function parseManifests(file: string, text: string, into: LoadResult): LoadResult {
  const { manifests, problems } = into;
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
  return into;
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
  ['networking.istio.io/v1 Sidecar', Sidecar],
  ['security.istio.io/v1 PeerAuthentication', PeerAuthentication],
  ['security.istio.io/v1 AuthorizationPolicy', AuthorizationPolicy],
  ['gateway.networking.k8s.io/v1 Gateway', K8sGateway],
  ['gateway.networking.k8s.io/v1 HTTPRoute', HTTPRoute],
  ['v1 ServiceAccount', ServiceAccount],
  // The chart's `helm test` pod.
  ['v1 Pod', Pod],
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
