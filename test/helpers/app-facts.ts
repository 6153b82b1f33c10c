// Test helper: what the manifest checks need to know about the service,
// derived from src/ rather than written down: its release, what it makes of
// an env, which paths it serves, and the metrics it exposes.
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

/**
 * What GET /metrics of this version serves after the API has answered on each
 * of its routes, once successfully and once with a fault: every series a
 * query about that version could select.
 */
export async function servedMetrics(version: string): Promise<string> {
  const app = await serve(
    await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version, FAULT_ERROR_RATE: '0.5', SEED: '7' })),
  );
  try {
    let id: string | undefined;
    // Half the answers are faults; one page that is not names a ticket.
    while (id === undefined) {
      const res = await app.request('/tickets');
      if (res.statusCode === 200)
        id = (JSON.parse(res.body) as { _items: Array<{ _id: string }> })._items[0]?._id ?? '';
    }
    for (let i = 0; i < 20; i++) {
      for (const url of ['/', '/tickets', `/tickets/${id}`, '/nothing-here']) await app.request(url);
    }
    return (await app.request('/metrics')).body;
  } finally {
    await app.close();
  }
}
