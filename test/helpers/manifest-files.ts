// What the files of kubernetes/ must hold, as users meet them: the objects of
// each walkthrough file in order with each step's weights, what `kubectl
// apply` prints for them, and the kustomization that points them at a
// registry.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { stableJson } from './manifest-checks/namespace.ts';
import { routeWeights } from './manifest-checks/routing.ts';
import { firstLine, type Manifest, objectName, type Problem } from './manifests.ts';

export interface ExpectedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** For a VirtualService or HTTPRoute step: per rule, the weight per subset or Service. */
  weights?: Array<Record<string, number>>;
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
  const actual = inFile.map(show).join(', ') || 'nothing';
  const wanted = expected.map(show).join(', ');
  if (actual !== wanted) {
    const first = inFile[0];
    return [
      {
        file,
        object: first ? objectName(first) : 'document 1',
        message: `holds ${actual}; expected exactly ${wanted}, in that order`,
      },
    ];
  }
  const problems: Problem[] = [];
  expected.forEach((e, i) => {
    const m = inFile[i];
    if (!m || !e.weights) return;
    const actualWeights = routeWeights(m);
    if (stableJson(actualWeights) !== stableJson(e.weights))
      problems.push({
        file,
        object: objectName(m),
        message: `routes ${showWeights(actualWeights)}; this step must route ${showWeights(e.weights)}`,
      });
  });
  return problems;
}

/** `service/ecadraft`, `deployment.apps/ecadraft-v1`, `virtualservice.networking.istio.io/ecadraft`: kubectl's names. */
export function kubectlName(o: Pick<Manifest, 'apiVersion' | 'kind' | 'name'>): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.indexOf('/')) : '';
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.name}`;
}

/**
 * What `kubectl apply -f` prints for each file, applied in this order into an
 * empty namespace: `created` for a new object, `unchanged` for one applied
 * before as it is, `configured` for one that changes.
 */
export function applyOutputs(manifests: readonly Manifest[], files: readonly string[]): Map<string, string[]> {
  const live = new Map<string, string>();
  const out = new Map<string, string[]>();
  for (const file of files) {
    const lines: string[] = [];
    for (const m of manifests.filter((x) => x.file === file)) {
      const key = kubectlName(m);
      const body = stableJson(m.body);
      const before = live.get(key);
      lines.push(`${key} ${before === undefined ? 'created' : before === body ? 'unchanged' : 'configured'}`);
      live.set(key, body);
    }
    out.set(file, lines);
  }
  return out;
}

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
