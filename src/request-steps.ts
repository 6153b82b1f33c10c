// The request path: every step a request takes around its route, each one job,
// in one ordered list (requestSteps) that app.ts registers as it stands. Every
// request, routed or not, cached or not, passes these steps; nothing answers
// around them. A step that answers ends the request there; the others hand it on.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onResponseHookHandler,
} from 'fastify';
import type { Draining } from './draining.ts';
import { INTERNAL_ERROR_MESSAGE, longUrlMessage } from './eve-errors.ts';
import { FAULT_HEADER, type Faults } from './faults.ts';
import { methodNotAllowed, notFound, sendError } from './http-errors.ts';
import type { Metrics } from './metrics.ts';
import { VERSION_HEADER } from './versions.ts';

/** Longer request targets get a 414; Node's header limit leaves room for them. */
export const MAX_URL_LENGTH = 16 * 1024;
/** Read-only routes need no body: a small one is ignored, a larger one refused unread. */
export const BODY_LIMIT = 16 * 1024;

export interface StepOptions {
  version: string;
  draining: Draining;
  faults: Faults;
  metrics: Metrics;
}

export interface RequestSteps {
  /** Before the route, in order. */
  onRequest: onRequestHookHandler[];
  /** Once the answer is sent, in order. */
  onResponse: onResponseHookHandler[];
}

/** The request path, in order. */
export function requestSteps(app: FastifyInstance, options: StepOptions): RequestSteps {
  return {
    onRequest: [
      nameVersion(options.version),
      closeWhileDraining(options.draining),
      refuseLongUrl,
      refuseAsteriskForm,
      closeBeforeUnreadBody,
      answerUnrouted(app),
      limitBody,
      injectFaults(options.faults),
    ],
    // Then the route; then:
    onResponse: [recordMetrics(options.metrics), logRequest],
  };
}

/** Every answer names the version that gave it, errors included. */
export function nameVersion(version: string): onRequestHookHandler {
  return function nameVersion(_request, reply, done) {
    reply.header(VERSION_HEADER, version);
    done();
  };
}

/** While draining, each answer ends its connection so clients reconnect to a pod that stays. */
export function closeWhileDraining(draining: Draining): onRequestHookHandler {
  return function closeWhileDraining(_request, reply, done) {
    if (draining.active) reply.header('connection', 'close');
    done();
  };
}

export const refuseLongUrl: onRequestHookHandler = function refuseLongUrl(request, reply, done) {
  if (request.url.length > MAX_URL_LENGTH) {
    sendError(reply, 414, longUrlMessage(MAX_URL_LENGTH));
    return;
  }
  done();
};

/** Whether a request carries a body, announced by length or sent in chunks. */
function hasRequestBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

/**
 * `GET *` reaches the router as `/` and would get the home document. The
 * asterisk form asks about the server as a whole, which only OPTIONS does
 * (RFC 9112, 3.2.4); any other method gets a 400 saying so.
 */
export const refuseAsteriskForm: onRequestHookHandler = function refuseAsteriskForm(request, reply, done) {
  if (request.raw.url === '*' && request.method !== 'OPTIONS') {
    sendError(
      reply,
      400,
      `The request target * is only for OPTIONS: ${request.method} needs a path, such as /tickets.`,
    );
    return;
  }
  done();
};

/**
 * The steps below may answer before a body is read; the connection must then
 * close, or Node would read the whole body to reach the next request.
 */
export const closeBeforeUnreadBody: onRequestHookHandler = function closeBeforeUnreadBody(request, reply, done) {
  if (hasRequestBody(request.headers)) reply.header('connection', 'close');
  done();
};

/** GET, HEAD and OPTIONS first, as Eve lists them; any other method after them. */
const ALLOW_ORDER = ['GET', 'HEAD', 'OPTIONS'];
const allowRank = (method: string) => (ALLOW_ORDER.indexOf(method) + 1 || ALLOW_ORDER.length + 1) - 1;

/**
 * The methods the router serves at a request target's path, as an Allow
 * header, or undefined when no route matches it. Asked of the router itself, so the answer follows
 * its rules (parameters, their patterns, trailing slashes) exactly.
 */
export function allowedMethods(app: FastifyInstance, target: string): string | undefined {
  const path = target.split(/[?#]/, 1)[0]!;
  // The router answers a path that does not decode with its bad-URL handler rather than with no route.
  if (!path.startsWith('/')) return undefined;
  try {
    decodeURI(path);
  } catch {
    return undefined;
  }
  const methods = app.supportedMethods.filter((method) => app.findRoute({ method, url: path }) !== null);
  if (methods.length === 0) return undefined;
  return methods.sort((a, b) => allowRank(a) - allowRank(b) || a.localeCompare(b)).join(', ');
}

/**
 * A request no route takes: 405 with Allow when the path exists under other
 * methods, else 404. Answered here, before any body is read.
 */
export function answerUnrouted(app: FastifyInstance): onRequestHookHandler {
  return function answerUnrouted(request, reply, done) {
    if (!request.is404) {
      done();
      return;
    }
    const allow = allowedMethods(app, request.url);
    if (allow) methodNotAllowed(reply, allow);
    else notFound(reply);
  };
}

const bodyTooLarge = (reply: FastifyReply) =>
  sendError(reply, 413, `A request body may not exceed ${BODY_LIMIT} bytes.`);

/**
 * Bodies over BODY_LIMIT get a 413: an announced length at once, a chunked
 * body of unknown size as soon as it grows past the limit.
 */
export const limitBody: onRequestHookHandler = function limitBody(request, reply, done) {
  if (Number(request.headers['content-length'] ?? 0) > BODY_LIMIT) {
    bodyTooLarge(reply);
    return;
  }
  // Fastify reads no body on GET, so a chunked one is counted as it arrives.
  if (request.headers['transfer-encoding'] !== undefined) countChunkedBody(request.raw, reply, done);
  else done();
};

function countChunkedBody(raw: IncomingMessage, reply: FastifyReply, done: () => void): void {
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received <= BODY_LIMIT) return;
    raw.off('data', onData);
    raw.pause();
    bodyTooLarge(reply);
  };
  raw.on('data', onData);
  raw.once('end', () => {
    if (received <= BODY_LIMIT) done();
  });
}

declare module 'fastify' {
  /** What a route's `config` tells the steps. */
  interface FastifyContextConfig {
    /** FAULT_DELAY_MS and FAULT_ERROR_RATE apply here: the Eve routes, never the probes. */
    faults?: boolean;
  }
}

/** Delays and failures of FAULT_DELAY_MS and FAULT_ERROR_RATE, on the routes that take them. */
export function injectFaults(faults: Faults): onRequestHookHandler {
  return function injectFaults(request, reply, done) {
    if (!faults.enabled || !request.routeOptions.config.faults) {
      done();
      return;
    }
    const fail = () => {
      if (faults.fails()) sendError(reply.header(FAULT_HEADER, 'error'), 500, INTERNAL_ERROR_MESSAGE);
      else done();
    };
    const delay = faults.delay();
    if (delay > 0) setTimeout(fail, delay);
    else fail();
  };
}

/** Requests and latency by route, method and status; a route is labelled by its path pattern, 404s share one. */
export function recordMetrics(metrics: Metrics): onResponseHookHandler {
  // Labels by route URL, each worked out once: an app's routes are few and fixed.
  const labels = new Map<string, string>();
  return function recordMetrics(request, reply, done) {
    metrics.requests.record(routeLabel(request, labels), request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  };
}

/** A route's path pattern without a parameter's own pattern: `/tickets/:_id`. */
function routeLabel(request: FastifyRequest, labels: Map<string, string>): string {
  if (request.is404) return 'unmatched';
  const url = request.routeOptions.url!;
  let label = labels.get(url);
  if (label === undefined) {
    label = url.replace(/\([^/]*\)$/, '');
    labels.set(url, label);
  }
  return label;
}

/** One line per request, at debug level only: at info, a load test would drown the logs. */
export const logRequest: onResponseHookHandler = function logRequest(request, reply, done) {
  request.log.debug(
    { method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
    'request',
  );
  done();
};
