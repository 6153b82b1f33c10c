// Apps built once per version and shared by a test file: building one generates its dataset.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { VersionName } from '../../src/format.ts';

const apps = new Map<string, Promise<FastifyInstance>>();

export function appFor(version: VersionName, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const key = JSON.stringify([version, env]);
  let app = apps.get(key);
  if (!app) {
    app = buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version, ...env }));
    apps.set(key, app);
  }
  return app;
}

/**
 * An app of its own listening on 127.0.0.1, for what inject cannot send:
 * oversized request lines, raw bytes, dot segments a URL parser would
 * normalise away, and repeated reads that the fast path answers. Closed by
 * closeApps.
 */
export async function listeningApp(version: VersionName = 'v1'): Promise<{ app: FastifyInstance; port: number }> {
  const app = buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version }));
  apps.set(`listening ${apps.size}`, app);
  const listening = await app;
  await listening.listen({ port: 0, host: '127.0.0.1' });
  return { app: listening, port: (listening.server.address() as AddressInfo).port };
}

export async function closeApps(): Promise<void> {
  await Promise.all([...apps.values()].map(async (app) => (await app).close()));
  apps.clear();
}

// Tests read bodies as loosely as a client does: a wrong shape fails an assertion, not the type check.
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Json = any;

export async function get(
  app: FastifyInstance,
  url: string,
  headers: InjectOptions['headers'] = {},
): Promise<LightMyRequestResponse & { json(): Json }> {
  return app.inject({ method: 'GET', url, headers });
}

/** The page's body as JSON, after asserting a 200 JSON answer. */
export async function page(app: FastifyInstance, url: string): Promise<Json> {
  const res = await get(app, url);
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const VERSIONS: VersionName[] = ['v1', 'v2'];
