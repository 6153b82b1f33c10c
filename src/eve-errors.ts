// Eve's errors, without a web framework: their messages, the HttpError the hot
// path throws on a bad parameter, and the body every error answer carries.
// http-errors.ts sends them, from a route, a request step or the HTTP parser.

export const NOT_FOUND_MESSAGE =
  'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
export const METHOD_NOT_ALLOWED_MESSAGE = 'The method is not allowed for the requested URL.';
export const INTERNAL_ERROR_MESSAGE =
  'The server encountered an internal error and was unable to complete your request. ' +
  'Either the server is overloaded or there is an error in the application.';

export const longUrlMessage = (limit: number) => `The request URL is longer than ${limit} characters.`;
/** Node's HTTP parser counts the URL with the headers against one limit. */
export const largeHeadMessage = (limit: number) => `The request headers and URL together exceed ${limit} bytes.`;

/** A client error with a message meant for the client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}

export function errorBody(code: number, message: string): string {
  return JSON.stringify({ _status: 'ERR', _error: { code, message } });
}
