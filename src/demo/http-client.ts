// One HTTP request with nothing normalised away, for the tests, the benchmarks
// and the demo alike: the status, the headers as parsed and as the server
// wrote them (names, order, case), and the body as bytes and as text. fetch
// hides part of that, and a pooled connection would make one request depend on
// another, so each request gets its own connection unless the caller passes an
// agent.
import http from 'node:http';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Names and values as the server wrote them, in order. */
  rawHeaders: string[];
  /** The body decoded as UTF-8. */
  body: string;
  /** The body exactly as received. */
  bytes: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  /** Defaults to a fresh connection per request, so no caller depends on pooling. */
  agent?: http.Agent | false;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Sent after the headers, with its Content-Length unless the headers frame it. */
  body?: string | Buffer;
}

/** One HTTP request; rejects on a connection error or after timeoutMs without a complete answer. */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const { body } = options;
  // Node frames a body of its own accord only for methods that usually carry one: not GET, HEAD, OPTIONS.
  const framed =
    body === undefined ||
    Object.keys(options.headers ?? {}).some((name) => /^(content-length|transfer-encoding)$/i.test(name));
  const headers = framed ? options.headers : { ...options.headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers, agent: options.agent ?? false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: bytes.toString('utf8'),
            bytes,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
