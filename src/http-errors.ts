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
  METHOD_NOT_ALLOWED_MESSAGE,
  NOT_FOUND_MESSAGE,
} from './errors.ts';
import { VERSION_HEADER } from './format.ts';
import { JSON_CONTENT_TYPE } from './serialize.ts';

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

/**
 * Errors Node's HTTP parser raises before any route runs: oversized request
 * lines and headers, malformed requests, timeouts. Written straight to the socket.
 */
export function clientErrorHandler(version: string, maxUrlLength: number) {
  return (error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let code = 400;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      // The parser gives no sign of which part overflowed; an unfinished
      // request line in what it read means the URL did.
      const head = Buffer.isBuffer(error.rawPacket)
        ? error.rawPacket.subarray(0, maxUrlLength + 64).toString('latin1')
        : '';
      code = head.includes('\r\n') || head.includes('\n') ? 431 : 414;
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'HPE_HEADERS_TIMEOUT') {
      code = 408;
    }
    writeRawError(socket, version, code, STATUS_CODES[code] ?? 'Bad Request');
  };
}

/** An Eve error written straight to a socket that no framework serves, then closed. */
export function writeRawError(socket: Socket, version: string, code: number, message: string, headers = ''): void {
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: ${JSON_CONTENT_TYPE}\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${VERSION_HEADER}: ${version}\r\nConnection: close\r\n\r\n${body}`,
  );
}
