// Rules about objects as a whole: where they land, and objects that several
// files define.
import type { Manifest } from '../manifests.ts';
import { type Namespace, stableJson } from './namespace.ts';

/** Kinds where files of the same name are successive steps that replace each other. */
const TRAFFIC_STEP_KINDS = new Set(['VirtualService', 'HTTPRoute']);

const apiGroup = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

/** Everything lands in the namespace the user applies to, where the other objects are looked up. */
export function checkNoNamespace(ns: Namespace): void {
  for (const m of ns.manifests) {
    const namespace = (m.body.metadata as { namespace?: unknown }).namespace;
    if (namespace !== undefined)
      ns.report(
        m,
        `sets metadata.namespace ${String(namespace)}; the walkthrough applies into the current namespace, where the other objects are looked up`,
      );
  }
}

/**
 * An object that several files define must be the same in all of them, or
 * re-applying one file silently changes what another set up (the walkthrough
 * expects `service/ecadraft unchanged`).
 */
export function checkSameDefinitions(ns: Namespace): void {
  const first = new Map<string, Manifest>();
  for (const m of ns.manifests) {
    if (TRAFFIC_STEP_KINDS.has(m.kind)) continue;
    const key = `${apiGroup(m.apiVersion)} ${m.kind} ${m.name}`;
    const earlier = first.get(key);
    if (!earlier) first.set(key, m);
    else if (stableJson(earlier.body) !== stableJson(m.body))
      ns.report(
        m,
        `differs from the ${m.kind}/${earlier.name} in ${earlier.file}; applying one file after the other would change it`,
      );
  }
}
