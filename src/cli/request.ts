// One GET, measured and classified, over a keep-alive agent. Every way a
// request can go wrong becomes a typed Failure with a one-line description, so
// callers count failures or report them without ever showing a stack trace.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { VERSION_HEADER } from '../versions.ts';
import { type Classification, classify } from './classify.ts';
import { CliError } from './errors.ts';

export interface Answer {
  kind: 'answer';
  status: number;
  version: string;
  by: Classification['by'];
  ms: number;
}

export type FailureKind = 'timeout' | 'unreachable' | 'connection' | 'not-json';

export interface Failure {
  kind: 'error';
  error: FailureKind;
  /** What happened, without the URL: `connection refused (ECONNREFUSED)`. */
  detail: string;
  ms: number;
}

export type Outcome = Answer | Failure;

/** The target URL, or a one-line error saying what a valid one looks like. */
export function parseTarget(text: string | undefined): URL {
  const example = 'e.g. http://localhost:8080/tickets';
  if (text === undefined || text.trim() === '')
    throw new CliError(`missing URL: give the service's address, ${example}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`invalid URL ${JSON.stringify(text)}: expected an absolute http:// or https:// URL, ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid URL ${JSON.stringify(text)}: the scheme must be http or https, ${example}`);
  }
  return url;
}

// Errors that mean nothing listens there (as opposed to a connection that broke).
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
};

const BROKEN: Record<string, string> = {
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
};

/** A socket error as a Failure; `load` uses it for autocannon's errors too. */
export function failureOf(error: NodeJS.ErrnoException, ms: number): Failure {
  const code = error.code ?? '';
  if (UNREACHABLE[code]) return { kind: 'error', error: 'unreachable', detail: `${UNREACHABLE[code]} (${code})`, ms };
  const detail = BROKEN[code] ? `${BROKEN[code]} (${code})` : error.message.split('\n')[0] || code || 'request failed';
  return { kind: 'error', error: 'connection', detail, ms };
}

export function timeoutFailure(timeoutMs: number, ms: number): Failure {
  return { kind: 'error', error: 'timeout', detail: `no answer within ${timeoutMs} ms (--timeout)`, ms };
}

const LEAD: Record<FailureKind, string> = {
  unreachable: 'cannot reach',
  timeout: 'timed out waiting for',
  connection: 'connection failed to',
  'not-json': 'unexpected answer from',
};

/** `cannot reach http://127.0.0.1:9/tickets: connection refused (ECONNREFUSED)` */
export function describeFailure(failure: Failure, url: URL): string {
  return `${LEAD[failure.error]} ${url.href}: ${failure.detail}`;
}

class Timeout extends Error {}

export interface ClientOptions {
  timeoutMs: number;
  /** Sockets kept open to the target: the concurrency, so connections are reused, not piled up. */
  maxSockets: number;
}

export class Client {
  readonly #agent: http.Agent;
  readonly #get: typeof http.get;

  constructor(
    readonly url: URL,
    readonly options: ClientOptions,
  ) {
    const secure = url.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#get = secure ? https.get : http.get;
  }

  /** Resolves to an Outcome for anything the target does; rejects only when `signal` aborts. */
  get(signal?: AbortSignal): Promise<Outcome> {
    const { timeoutMs } = this.options;
    const start = performance.now();
    const elapsed = () => performance.now() - start;
    return new Promise<Outcome>((resolve, reject) => {
      const request = this.#get(
        this.url,
        { agent: this.#agent, signal, headers: { accept: 'application/json' } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', fail);
          response.on('end', () => {
            clearTimeout(timer);
            const status = response.statusCode ?? 0;
            const ms = elapsed();
            const result = classify(response.headers, Buffer.concat(chunks).toString('utf8'));
            // A non-2xx answer without the header (a mesh's `no healthy upstream`)
            // is still an answer; a 2xx that says nothing about versions means
            // the URL points at something else.
            if (result.by === 'none' && result.reason === 'not-json' && status >= 200 && status < 300) {
              const type = response.headers['content-type']?.split(';')[0] ?? 'no content type';
              resolve({
                kind: 'error',
                error: 'not-json',
                detail: `${status} (${type}) is not JSON and has no ${VERSION_HEADER} header; is it an ecadraft service?`,
                ms,
              });
              return;
            }
            resolve({ kind: 'answer', status, version: result.version, by: result.by, ms });
          });
        },
      );
      const timer = setTimeout(() => request.destroy(new Timeout()), timeoutMs);
      function fail(error: Error): void {
        clearTimeout(timer);
        if (signal?.aborted) reject(signal.reason);
        else if (error instanceof Timeout) resolve(timeoutFailure(timeoutMs, elapsed()));
        else resolve(failureOf(error, elapsed()));
      }
      request.on('error', fail);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
