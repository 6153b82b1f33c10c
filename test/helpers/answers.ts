// What every answer of the service must satisfy, whatever was asked: the
// checker behind the hostile-input tests. An answer is never a 5xx, names its
// version, and leaks nothing internal; an error is Eve's error body, in Eve's
// own words for 404 and 405.
import type { LightMyRequestResponse } from 'fastify';
import { type RawResponse, ROOT } from './process.ts';

// Eve's words, copied rather than imported: the test holds the contract, not the code.
export const NOT_FOUND =
  'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
export const METHOD_NOT_ALLOWED = 'The method is not allowed for the requested URL.';
/** The Allow header of the Eve routes (/, /tickets, /tickets/{id}) and of the operational ones. */
export const EVE_ALLOW = 'GET, HEAD, OPTIONS';
export const OPS_ALLOW = 'GET, HEAD';
/** The longest request target the service reads; longer is a 414. */
export const URL_LIMIT = 16 * 1024;

/** A stack frame as V8 prints it, raw or JSON-escaped. */
export const STACK_FRAME = /(?:^|\n|\\n)\s*at\s|\((?:file|node):|:\d+:\d+\)/;
/** A location on the machine: an absolute path with two segments, a Windows path, a source file. */
export const FILE_PATH = /(?:file:\/\/|node_modules|(?:^|[\s"'(=])\/(?:[\w.-]+\/)+[\w.-]+|[A-Za-z]:\\|\.[cm]?[jt]s\b)/;
/** What an internal failure would say: error class names, Node's error codes, the framework's. */
export const INTERNAL =
  /\b[A-Z][A-Za-z]*Error\b|Cannot read|is not a function|call stack|\bE(?:CONNRESET|NOENT|ACCES|PERM|PIPE|MFILE|ADDRINUSE)\b|\bERR_[A-Z_]+|\bFST_|\bHPE_|find-my-way|[Ff]astify|llhttp/;
export const LEAKS: [string, RegExp][] = [
  ['a stack frame', STACK_FRAME],
  ['a file path', /\/work\/|node_modules|src\/|file:\/\//],
  ['an error class name', /Error:/],
];

/** Input that already contains a marker would be echoed back (in links, in messages) and prove nothing. */
export function carriesLeakMarker(text: string): boolean {
  const decoded = lenientDecode(text);
  return [text, decoded].some((s) => s.includes(ROOT) || /error:/i.test(s) || LEAKS.some(([, re]) => re.test(s)));
}

export function lenientDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8').replaceAll('+', ' ');
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Everything wrong with one answer, as readable sentences; empty when it is fine. */
export function problems(answer: Answer, version: string, method: string): string[] {
  const found: string[] = [];
  const { status, headers, body } = answer;
  if (status >= 500) found.push(`status ${status}`);
  if (headers['x-ecadraft-version'] !== version)
    found.push(`x-ecadraft-version is ${String(headers['x-ecadraft-version'])}`);
  for (const [what, re] of LEAKS) if (re.test(body)) found.push(`body carries ${what}`);
  if (body.includes(ROOT)) found.push('body carries the checkout path');
  if (method === 'HEAD') {
    if (body !== '') found.push('HEAD answer has a body');
    return found;
  }
  const type = String(headers['content-type'] ?? '');
  if (status >= 400) {
    const shape = eveErrorProblem(status, body);
    if (shape) found.push(shape);
    if (!type.startsWith('application/json')) found.push(`error content-type ${type}`);
    if (status === 405 && !String(headers.allow ?? '').includes('GET'))
      found.push(`405 with Allow ${String(headers.allow)}`);
  } else if (type.startsWith('application/json') && status !== 304 && status !== 204) {
    try {
      JSON.parse(body);
    } catch {
      found.push('JSON content-type but the body is not JSON');
    }
  }
  return found;
}

/** Eve's error body exactly: two keys, two inner keys, the status as code, a message; Eve's wording for 404/405. */
export function eveErrorProblem(status: number, body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `error body is not JSON: ${body.slice(0, 100)}`;
  }
  const error = (parsed as { _error?: unknown })._error as Record<string, unknown> | undefined;
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    JSON.stringify(Object.keys(parsed)) === '["_status","_error"]' &&
    (parsed as { _status: unknown })._status === 'ERR' &&
    typeof error === 'object' &&
    error !== null &&
    JSON.stringify(Object.keys(error)) === '["code","message"]' &&
    error.code === status &&
    typeof error.message === 'string' &&
    error.message.trim() !== '';
  if (!ok) return `not Eve's error shape for ${status}: ${body.slice(0, 200)}`;
  if (status === 404 && error.message !== NOT_FOUND) return `404 message ${JSON.stringify(error.message)}`;
  if (status === 405 && error.message !== METHOD_NOT_ALLOWED) return `405 message ${JSON.stringify(error.message)}`;
  return undefined;
}

/** An answer from inject or from a listening app's `request`. */
export function fromResponse(
  response: Pick<LightMyRequestResponse, 'statusCode' | 'body'> & Pick<Answer, 'headers'>,
): Answer {
  return { status: response.statusCode, headers: response.headers, body: response.body };
}

export function fromRaw(response: RawResponse): Answer {
  return response;
}

/**
 * The own properties of the built-in prototypes now; the returned check says
 * whether any changed since (a query that polluted a prototype in this
 * process), and whether a fresh object inherits anything enumerable.
 */
export function prototypeGuard(): () => string[] {
  const snapshot = () =>
    [Object.prototype, Array.prototype, Function.prototype, String.prototype, Number.prototype].map((proto) =>
      Object.getOwnPropertyNames(proto).sort().join(','),
    );
  const before = snapshot();
  return () => {
    const found: string[] = [];
    const after = snapshot();
    for (const [i, name] of ['Object', 'Array', 'Function', 'String', 'Number'].entries()) {
      if (after[i] !== before[i]) found.push(`${name}.prototype changed: ${after[i]}`);
    }
    const probe: Record<string, unknown> = {};
    if (probe.polluted !== undefined) found.push('a fresh object has `polluted`');
    const inherited: string[] = [];
    for (const key in probe) inherited.push(key);
    if (inherited.length > 0) found.push(`a fresh object inherits ${inherited.join(', ')}`);
    return found;
  };
}
