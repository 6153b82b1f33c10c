// A small client of the local control plane's API server: requests and watches
// over HTTPS with the bearer token and CA that control-plane.ts writes. The pod
// runner and the tests need only this much; kubectl does everything the docs do.
import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface Credentials {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  readonly ca: string;
  readonly token: string;
}

/** What the API server sends back: an object, a list, or a Status. */
// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are read field by field, as kubectl's JSONPath does
export type KubeObject = Record<string, any>;

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`API server answered ${status}: ${body.slice(0, 500)}`);
  }
}

export class KubeApi {
  private readonly agent: https.Agent;

  constructor(private readonly credentials: Credentials) {
    this.agent = new https.Agent({ ca: credentials.ca, keepAlive: true });
  }

  /** From a kubeconfig control-plane.ts wrote (one cluster, one token user). */
  static fromFiles(server: string, caFile: string, tokenFile: string): KubeApi {
    return new KubeApi({ server, ca: readFileSync(caFile, 'utf8'), token: readFileSync(tokenFile, 'utf8').trim() });
  }

  /** One request; JSON in and out. 404 gives undefined for GET and DELETE. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<KubeObject | undefined> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        new URL(path, this.credentials.server),
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.credentials.token}`,
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    if (status === 404 && (method === 'GET' || method === 'DELETE')) return undefined;
    if (status < 200 || status >= 300) throw new KubeError(status, text);
    return text === '' ? undefined : (JSON.parse(text) as KubeObject);
  }

  get(path: string): Promise<KubeObject | undefined> {
    return this.request('GET', path);
  }

  /** A JSON merge patch. */
  patch(path: string, body: unknown): Promise<KubeObject | undefined> {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }

  /**
   * Watches a collection from its current state: each object is first given
   * as ADDED, then every change, until `stop()`. A watch the server ends
   * (its timeout, a compaction) is started again from a fresh list.
   */
  watch(path: string, onEvent: (type: string, object: KubeObject) => void): { stop(): void } {
    let stopped = false;
    let current: { destroy(): void } | undefined;
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          const list = await this.get(path);
          for (const item of list?.items ?? []) onEvent('ADDED', item);
          await new Promise<void>((resolve, reject) => {
            const sep = path.includes('?') ? '&' : '?';
            const url = new URL(
              `${path}${sep}watch=1&allowWatchBookmarks=false&resourceVersion=${list?.metadata?.resourceVersion ?? ''}`,
              this.credentials.server,
            );
            const req = https.request(
              url,
              { agent: this.agent, headers: { authorization: `Bearer ${this.credentials.token}` } },
              (res) => {
                if (res.statusCode !== 200) {
                  res.resume();
                  reject(new KubeError(res.statusCode ?? 0, 'watch refused'));
                  return;
                }
                let buffer = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => {
                  buffer += chunk;
                  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
                    const line = buffer.slice(0, nl);
                    buffer = buffer.slice(nl + 1);
                    if (line.trim() === '') continue;
                    const event = JSON.parse(line) as { type: string; object: KubeObject };
                    // A stale resourceVersion: list again.
                    if (event.type === 'ERROR') return req.destroy();
                    onEvent(event.type, event.object);
                  }
                });
                res.on('end', resolve);
                res.on('error', resolve);
                res.on('close', resolve);
              },
            );
            current = req;
            req.on('error', resolve);
            req.end();
          });
        } catch (error) {
          if (stopped) return;
          process.stderr.write(`watch ${path}: ${(error as Error).message}\n`);
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void loop();
    return {
      stop: () => {
        stopped = true;
        current?.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
