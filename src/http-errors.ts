// Every error response, from a route, a framework hook or the HTTP parser, in
// Eve's shape and with the version header: nothing a client sends gets a
// framework's own error page, a stack trace or an internal message.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  errorBody,
  type HttpError,
  INTERNAL_ERROR_MESSAGE,
  largeHeadMessage,
  longUrlMessage,
  METHOD_NOT_ALLOWED_MESSAGE,
  NOT_FOUND_MESSAGE,
} from './eve-errors.ts';
import { JSON_CONTENT_TYPE } from './serialize.ts';
import { VERSION_HEADER } from './versions.ts';

export function sendError(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).header('content-type', JSON_CONTENT_TYPE).send(errorBody(code, message));
}

export const notFound = (reply: FastifyReply) => sendError(reply, 404, NOT_FOUND_MESSAGE);

export const methodNotAllowed = (reply: FastifyReply, allow: string) =>
  sendError(reply.header('allow', allow), 405, METHOD_NOT_ALLOWED_MESSAGE);

export function handleError(
  error: FastifyError | HttpError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const code =
    error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (code === 500) {
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, INTERNAL_ERROR_MESSAGE);
  }
  // A client that sent a bad body or request is not worth a keep-alive.
  if (code === 413) reply.header('connection', 'close');
  return sendError(reply, code, error.message);
}

/** What Node's HTTP parser attaches to its errors: the chunk it was reading, and where in it it stopped. */
type ParserError = Error & { code?: string; rawPacket?: unknown; bytesParsed?: number };

/**
 * Errors Node's HTTP parser raises before any route runs: oversized request
 * lines and headers, malformed requests, timeouts. Written straight to the socket.
 */
export function clientErrorHandler(version: string, limits: { maxUrlLength: number; maxHeaderBytes: number }) {
  return (error: ParserError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let code = 400;
    let message: string | undefined;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      code = Buffer.isBuffer(error.rawPacket) ? overflowStatus(error.rawPacket, error.bytesParsed) : 431;
      message = code === 414 ? longUrlMessage(limits.maxUrlLength) : largeHeadMessage(limits.maxHeaderBytes);
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'HPE_HEADERS_TIMEOUT') {
      code = 408;
    } else if (error.code === 'HPE_INVALID_URL') {
      message = invalidUrlMessage(Buffer.isBuffer(error.rawPacket) ? error.rawPacket : undefined, error.bytesParsed);
    }
    writeRawError(socket, version, code, message ?? STATUS_CODES[code] ?? 'Bad Request');
  };
}

const LF = 0x0a;
/** The start of a request line, or all of one: `GET /path` ... `HTTP/1.1`. */
const REQUEST_LINE_START = /^[A-Z]+ \S/;
const REQUEST_LINE_END = / HTTP\/\d\.\d\r?$/;

/**
 * 414 when the parser's header limit ran out in a request line, 431 when in a
 * header. The parser says neither, and `packet` is only the latest read of a
 * request that may span several, so the line the parser stopped in (at
 * `at`) is judged by what of it this read holds: its start (a method) or its
 * end (the protocol) makes it a request line; a line that ends otherwise or
 * follows a line break in this read is a header. A line longer than the read,
 * seen neither start nor end, could be either: 431, as Node itself answers,
 * and its message names both.
 */
function overflowStatus(packet: Buffer, at: number | undefined): 414 | 431 {
  const stop = Math.min(at ?? packet.length, packet.length);
  const start = stop === 0 ? 0 : packet.lastIndexOf(LF, stop - 1) + 1;
  const end = packet.indexOf(LF, stop);
  const line = packet.subarray(start, end === -1 ? packet.length : end).toString('latin1');
  if (REQUEST_LINE_START.test(line) || (end !== -1 && REQUEST_LINE_END.test(line))) return 414;
  return 431;
}

/** What a URL may hold as it is: printable ASCII. Anything else must be percent-encoded. */
const isUrlByte = (byte: number) => byte > 0x20 && byte < 0x7f;

/** A character worth quoting back: a letter, digit, punctuation or symbol, never a control or a format character. */
const QUOTABLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Says which byte of the request URL the parser refused, where, and how to
 * send it instead: `Invalid request URL: raw byte 0xC3 in the query. A URL may
 * hold only printable ASCII: percent-encode other characters as UTF-8 ("é" is
 * %C3%A9).` `at` is where the parser stopped in `packet`; it stops on the
 * refused byte, or just after it when that byte ended the URL (a CR).
 */
function invalidUrlMessage(packet: Buffer | undefined, at: number | undefined): string {
  const general = 'Invalid request URL: a URL may hold only printable ASCII; percent-encode other characters as UTF-8.';
  if (!packet || at === undefined) return general;
  const index = [at, at - 1].find((i) => i >= 0 && i < packet.length && !isUrlByte(packet[i]!));
  if (index === undefined) return general;
  const byte = packet[index]!;
  const hex = (b: number) => b.toString(16).toUpperCase().padStart(2, '0');
  const where = partOfUrl(packet, index);
  const found = `${byte < 0x80 ? 'control character' : 'raw byte'} 0x${hex(byte)}${where ? ` in the ${where}` : ''}`;
  if (byte < 0x80)
    return `Invalid request URL: ${found}. A URL may hold only printable ASCII: percent-encode it (%${hex(byte)}).`;
  // A lead byte tells how long its UTF-8 sequence is; quote the character when the sequence is whole and valid.
  const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
  const bytes = packet.subarray(index, index + length);
  let character: string | undefined;
  try {
    character = bytes.length === length ? UTF8.decode(bytes) : undefined;
  } catch {
    character = undefined;
  }
  const example =
    character !== undefined && QUOTABLE.test(character)
      ? `"${character}" is ${[...bytes].map((b) => `%${hex(b)}`).join('')}`
      : `0x${hex(byte)} is %${hex(byte)}`;
  return `Invalid request URL: ${found}. A URL may hold only printable ASCII: percent-encode other characters as UTF-8 (${example}).`;
}

/** Path, query or fragment: where `index` falls in the URL that precedes it on the request line. */
function partOfUrl(packet: Buffer, index: number): string | undefined {
  let start = index - 1;
  while (start >= 0 && packet[start] !== 0x20 && packet[start] !== 0x0a) start--;
  const before = packet.subarray(start + 1, index);
  if (before.includes(0x23)) return 'fragment';
  // Only a URL that starts in this chunk tells a query from a fragment whose `#` came in an earlier one.
  if (start < 0 || packet[start] !== 0x20) return undefined;
  return before.includes(0x3f) ? 'query' : 'path';
}

/** An Eve error written straight to a socket that no framework serves, then closed. */
export function writeRawError(socket: Socket, version: string, code: number, message: string, headers = ''): void {
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${VERSION_HEADER}: ${version}\r\nConnection: close\r\n\r\n${body}`,
  );
}
