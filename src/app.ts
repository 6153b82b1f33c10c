// Composes the modules into a Fastify instance that tests build without listening.
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions, LogController } from 'fastify';
import type { Config } from './config.ts';
import { type Dataset, generateDataset } from './dataset.ts';
import { METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE } from './errors.ts';
import { createFastPath, type FastPath, hasRequestBody } from './fastpath.ts';
import { Faults } from './faults.ts';
import { FORMATTERS } from './format.ts';
import {
  clientErrorHandler,
  handleError,
  methodNotAllowed,
  notFound,
  sendError,
  writeRawError,
} from './http-errors.ts';
import { Lifecycle } from './lifecycle.ts';
import { Metrics } from './metrics.ts';
import { opsRoutes, RELEASE } from './routes/ops.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { errorSchema, ticketSchema } from './schemas.ts';
import { Store, type StoreOptions, splitTarget } from './store.ts';

/** Longer request targets get a 414; Node's header limit below leaves room for them. */
export const MAX_URL_LENGTH = 16 * 1024;
const MAX_HEADER_BYTES = 32 * 1024;
/** Read-only routes need no body: a small one is ignored, a larger one refused unread. */
export const BODY_LIMIT = 16 * 1024;

/**
 * Timeouts for running behind Envoy. An upstream connection must be closed by
 * the proxy, never by us: if we close an idle keep-alive connection just as
 * Envoy sends a request on it, that request is reset. So our keep-alive
 * timeout outlasts the idle timeout the DestinationRule gives Envoy (60 s).
 * A client that has not sent its headers in 10 s is cut off (slow-loris).
 */
export const SERVER_TIMEOUTS = {
  keepAliveTimeout: 65_000,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  // How often Node enforces the two above; its default (30 s) would let a slow client linger.
  connectionsCheckingInterval: 1_000,
};

function httpServer(fastPath: FastPath | undefined) {
  return (handler: RequestListener) => {
    return createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: SERVER_TIMEOUTS.headersTimeout,
        requestTimeout: SERVER_TIMEOUTS.requestTimeout,
        connectionsCheckingInterval: SERVER_TIMEOUTS.connectionsCheckingInterval,
        keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeout,
      },
      fastPath ? (request, response) => fastPath(request, response) || handler(request, response) : handler,
    );
  };
}

export interface AppOptions {
  lifecycle?: Lifecycle;
  /** Share one generated dataset between apps (tests build many). */
  dataset?: Dataset;
  store?: StoreOptions;
}

const METHOD_ORDER = ['GET', 'HEAD', 'OPTIONS'];

/** find-my-way's path syntax as a RegExp, for telling a wrong method (405) from a wrong path (404). */
function pathPattern(url: string): RegExp {
  const source = url.replace(
    /:[A-Za-z0-9_]+(\(([^)]*)\))?|\*|[.+?^${}()|[\]\\]/g,
    (token, _group, regex: string | undefined) => {
      if (token === '*') return '.*';
      if (token.startsWith(':')) return regex === undefined ? '[^/]+' : `(?:${regex.replace(/^\^|\$$/g, '')})`;
      return `\\${token}`;
    },
  );
  return new RegExp(`^${source.replace(/\/$/, '')}/?$`);
}

const bodyTooLarge = (reply: FastifyReply) =>
  sendError(reply, 413, `A request body may not exceed ${BODY_LIMIT} bytes.`);

function limitChunkedBody(raw: IncomingMessage, reply: FastifyReply, done: () => void): void {
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

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    // Every line names the version, so mixed v1/v2 logs stay readable.
    base: { service: 'ecadraft', version: config.version },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}

export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const version = config.version;
  const data = options.dataset ?? generateDataset(config.ticketCount, config.seed, FORMATTERS[version].format);
  const store = new Store(data, options.store);
  const metrics = new Metrics(version, FORMATTERS[version].name);
  const faults = new Faults({ errorRate: config.faultErrorRate, delayMs: config.faultDelayMs });
  const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
  // Faults and per-request logs apply to every request, so they need the full path.
  const fastPath =
    faults.enabled || debug
      ? undefined
      : createFastPath({ store, version, lifecycle, metrics, maxUrlLength: MAX_URL_LENGTH });
  const app = Fastify({
    serverFactory: httpServer(fastPath),
    logger: loggerOptions(config),
    // Per-request lines only at debug (below); Fastify's own are at info.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: {
      ignoreTrailingSlash: true,
      // A long id is a 404 like any unknown id, not a router error.
      maxParamLength: MAX_URL_LENGTH,
      // query.ts reads the raw query string with Eve's rules, only when a page is not cached.
      querystringParser: () => ({}),
    },
    // Requests arriving while we drain are served; readiness already steers new ones away.
    return503OnClosing: false,
    bodyLimit: BODY_LIMIT,
    clientErrorHandler: clientErrorHandler(version, MAX_URL_LENGTH),
    frameworkErrors: (error, _request, reply) => {
      reply.header('x-ecadraft-version', version);
      sendError(reply, 400, error.message);
    },
  });

  // Schemas describe the API for OpenAPI; query.ts enforces Eve's lenient rules, so none rejects.
  app.setValidatorCompiler(() => () => true);
  app.addSchema(ticketSchema);
  app.addSchema(errorSchema);

  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ pattern: pathPattern(route.url ?? route.path), methods: ([] as string[]).concat(route.method) });
  });
  const allowed = (path: string): string | undefined => {
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods));
    if (methods.size === 0) return undefined;
    return [...methods]
      .sort((a, b) => (METHOD_ORDER.indexOf(a) + 1 || 9) - (METHOD_ORDER.indexOf(b) + 1 || 9))
      .join(', ');
  };

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-ecadraft-version', version);
    // While draining, each answer ends its connection so clients reconnect to a pod that stays.
    if (lifecycle.draining) reply.header('connection', 'close');
    if (request.url.length > MAX_URL_LENGTH) {
      sendError(reply, 414, `The request URL is longer than ${MAX_URL_LENGTH} characters.`);
      return;
    }
    // Answering before a body is read, the connection must close, or Node would read it all to reach the next request.
    if (hasRequestBody(request.headers)) reply.header('connection', 'close');
    // Answered here, before any body is read: a wrong route never reads one.
    if (request.is404) {
      const allow = allowed(splitTarget(request.url).path);
      if (allow) methodNotAllowed(reply, allow);
      else notFound(reply);
      return;
    }
    if (Number(request.headers['content-length'] ?? 0) > BODY_LIMIT) {
      bodyTooLarge(reply);
      return;
    }
    // Fastify reads no body on GET; a chunked one of unknown size is counted as it arrives.
    if (request.headers['transfer-encoding'] !== undefined) limitChunkedBody(request.raw, reply, done);
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    // A route's label is its path pattern without the parameter's regex; 404s share one.
    const route = request.is404 ? 'unmatched' : request.routeOptions.url!.replace(/\([^/]*\)$/, '');
    metrics.record(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    if (debug)
      request.log.debug(
        { method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    done();
  });

  // The only routes with a body Fastify would parse are OPTIONS, which ignores it; the onRequest hook bounds its size.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => notFound(reply));

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'ecadraft',
        version: RELEASE,
        description:
          'Support tickets in the wire format of Eve, in two versions told apart by the customer casing ' +
          'and the x-ecadraft-version header.',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  ticketRoutes(app, store, faults);
  opsRoutes(app, { version, ticketCount: data.count, seed: config.seed, lifecycle, metrics });
  // Node hands CONNECT to a 'connect' listener, never to a request handler,
  // and drops the connection unanswered when there is none.
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const allow = allowed(splitTarget(request.url ?? '').path);
    if (allow) writeRawError(socket, version, 405, METHOD_NOT_ALLOWED_MESSAGE, `Allow: ${allow}\r\n`);
    else writeRawError(socket, version, 404, NOT_FOUND_MESSAGE);
  });
  await app.ready();
  return app;
}
