// Test helper: what the manifest checks need to know about the service,
// derived from src/ rather than written down: its release, what it makes of
// an env and which paths it serves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type Served, serve } from './app.ts';
import type { AppFacts } from './manifest-checks/index.ts';
import { ROOT, type Teardown } from './process.ts';

export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * The app as the probes would meet it: built from src/ and listening, since
 * /readyz answers 503 until the server listens. Closed in `t`'s teardown.
 */
export function appFacts(t: Teardown): AppFacts {
  let app: Served | undefined;
  const served = new Map<string, boolean>();
  t.teardown(async () => {
    await app?.close();
  });
  return {
    packageVersion: PACKAGE_VERSION,
    keepAliveTimeoutMs: loadConfig({}).keepAliveTimeoutMs,
    config: (env) => loadConfig(env),
    async serves(urlPath) {
      const known = served.get(urlPath);
      if (known !== undefined) return known;
      app ??= await serve(await buildApp(loadConfig({ LOG_LEVEL: 'silent' })));
      const res = await app.request(urlPath);
      served.set(urlPath, res.statusCode === 200);
      return res.statusCode === 200;
    },
  };
}
