// Apps built once per version and shared by a test file, each listening on
// 127.0.0.1 and asked over real HTTP: requests reach the app through the
// server its serverFactory makes and Node's HTTP parser, as production
// requests do, never through inject.
import { Agent, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { VersionName } from '../../src/versions.ts';
import { request } from './http.ts';

// Tests read bodies as loosely as a client does: a wrong shape fails an assertion, not the type check.
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Json = any;

export interface Answer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The body decoded as UTF-8. */
  body: string;
  /** The body exactly as received. */
  rawPayload: Buffer;
  json(): Json;
}

export interface Ask {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A listening app, and requests to it over HTTP on kept-alive connections. */
export interface Served {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  request(ask: Ask | string): Promise<Answer>;
  /** Closes the app and the client's connections. */
  close(): Promise<void>;
}

const served = new Map<string, Promise<Served>>();

/** Listens on a port of 127.0.0.1 the OS picks; the caller closes it (closeApps closes appFor's and appOfItsOwn's). */
export async function serve(app: FastifyInstance): Promise<Served> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true });
  return {
    app,
    origin,
    port,
    async close() {
      agent.destroy();
      await app.close();
    },
    async request(ask) {
      const { method = 'GET', url, headers, body } = typeof ask === 'string' ? { url: ask } : ask;
      const answer = await request(origin + url, { method, headers, body, agent, timeoutMs: 10_000 });
      return {
        statusCode: answer.status,
        headers: answer.headers,
        body: answer.body,
        rawPayload: answer.bytes,
        json: () => JSON.parse(answer.body),
      };
    },
  };
}

function remember(key: string, app: Promise<Served>): Promise<Served> {
  served.set(key, app);
  return app;
}

/** The app of a version (and environment) that this test file shares. */
export function appFor(version: VersionName, env: Record<string, string> = {}): Promise<Served> {
  const key = JSON.stringify([version, env]);
  return served.get(key) ?? remember(key, listening(version, env));
}

/** An app of its own, for a test that changes its state (draining, say). */
export function appOfItsOwn(
  version: VersionName = 'v1',
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<Served> {
  return remember(`own ${served.size}`, listening(version, env, options));
}

async function listening(version: VersionName, env: Record<string, string>, options: AppOptions = {}) {
  return serve(await buildApp(loadConfig({ LOG_LEVEL: 'silent', VERSION: version, ...env }), options));
}

export async function closeApps(): Promise<void> {
  await Promise.all([...served.values()].map(async (app) => (await app).close()));
  served.clear();
}

export function get(on: Served, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return on.request({ url, headers });
}

/** The page's body as JSON, after asserting a 200 JSON answer. */
export async function page(on: Served, url: string): Promise<Json> {
  const res = await get(on, url);
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const VERSIONS: VersionName[] = ['v1', 'v2'];
