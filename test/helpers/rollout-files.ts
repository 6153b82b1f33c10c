// Test helper: the files of kubernetes/argo-rollouts/ as the offline checks
// read them: the release patches applied as `kubectl patch --type json`
// applies them (RFC 6902), and the differences between two pod templates.
// What the Argo Rollouts controller makes of them is tested on a real one
// (test/real/cluster-rollout.test.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ARGO_ROLLOUTS_DIR = 'kubernetes/argo-rollouts';

// ---------------------------------------------------------------------------
// JSON Patch (RFC 6902), as `kubectl patch --type json` applies the release files

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** A copy of `doc` with the operations applied; throws where kubectl would refuse the patch. */
export function applyJsonPatch<T>(doc: T, operations: readonly PatchOperation[]): T {
  const root = structuredClone(doc) as unknown;
  for (const operation of operations) {
    const keys = operation.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`patch: path ${operation.path} names the whole document`);
    let parent = root;
    for (const key of keys) {
      parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[key] : undefined;
      if (parent === undefined) throw new Error(`patch: ${operation.op} ${operation.path}: ${key} does not exist`);
    }
    const container = parent as Record<string, unknown> | unknown[];
    const exists = Array.isArray(container) ? last === '-' || Number(last) < container.length : last in container;
    switch (operation.op) {
      case 'test':
        if (JSON.stringify((container as Record<string, unknown>)[last]) !== JSON.stringify(operation.value))
          throw new Error(`patch: test ${operation.path} failed: not ${JSON.stringify(operation.value)}`);
        break;
      case 'add':
        if (Array.isArray(container))
          container.splice(last === '-' ? container.length : Number(last), 0, operation.value);
        else container[last] = operation.value;
        break;
      case 'replace':
      case 'remove':
        if (!exists || last === '-') throw new Error(`patch: ${operation.op} ${operation.path}: it does not exist`);
        if (operation.op === 'replace') (container as Record<string, unknown>)[last] = operation.value;
        else if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      default:
        throw new Error(`patch: unsupported op ${String((operation as { op: unknown }).op)}`);
    }
  }
  return root as T;
}

/** A release of releases/, as the JSON patch kubectl applies. */
export function readRelease(root: string, name: string): PatchOperation[] {
  return JSON.parse(readFileSync(path.join(root, ARGO_ROLLOUTS_DIR, 'releases', name), 'utf8')) as PatchOperation[];
}

/** Where two pod templates differ, as `path: a vs b`. */
export function templateDifferences(a: unknown, b: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      if (Array.isArray(x) !== Array.isArray(y)) {
        out.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
        return;
      }
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const key of keys) {
        const child = Array.isArray(x) ? `${path}[${key}]` : `${path}.${key}`;
        walk((x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key], child);
      }
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  walk(a, b, 'template');
  return out;
}
