// `npm run demo` as the tests start it: the demo process on a free port,
// its stdin a pipe for typing steps, stopped in the test's teardown.
import path from 'node:path';
import { type Env, type NodeProcess, ROOT, spawnNode, type Teardown } from './process.ts';

const DEMO = path.join(ROOT, 'src', 'demo', 'demo.ts');

export function startDemo(t: Teardown, args: string[] = ['--port', '0'], env: Env = {}): NodeProcess {
  return spawnNode(t, DEMO, { nodeArgs: ['--import', 'tsx'], args, input: true, env });
}

/** The base URL the demo printed for `name` (v1, v2, gateway). */
export async function printed(demo: NodeProcess, name: string): Promise<string> {
  const pattern = new RegExp(`^ {2}${name} +(http://127\\.0\\.0\\.1:\\d+)`, 'm');
  return demo.waitFor(`the ${name} URL`, () => pattern.exec(demo.stdout)?.[1], 60_000);
}
