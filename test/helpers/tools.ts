// What a suite needs of the real components (src/demo/components.ts finds
// them): without one the suite skips and says how to build it, except in CI,
// where a missing tool fails the suite, so a green CI always ran the real
// components.
import { type Tool, toolDir, toolsCache } from '../../src/demo/components.ts';

/** What a tap test object offers for skipping (a plan of 0 with a reason) and failing. */
interface Skippable {
  plan(count: number, reason: string): void;
  fail(message: string): void;
  end(): void;
}

/**
 * The directories of the tools a suite needs, or undefined after skipping (or,
 * in CI, failing) the suite with a message naming what is missing.
 */
export function needTools<T extends Tool>(t: Skippable, ...tools: T[]): Record<T, string> | undefined {
  const found = Object.fromEntries(tools.map((tool) => [tool, toolDir(tool)])) as Record<T, string | undefined>;
  const missing = tools.filter((tool) => found[tool] === undefined);
  if (missing.length === 0) return found as Record<T, string>;
  const message = `needs ${missing.join(', ')} from \`bash .ci/tools.sh ${missing.join(' ')}\` (cache: ${toolsCache()})`;
  if (process.env.CI) {
    t.fail(message);
    t.end();
  } else t.plan(0, message);
  return undefined;
}
