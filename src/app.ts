// Composes the modules into a Fastify instance that tests build without listening.
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type onResponseHookHandler,
} from 'fastify';
import type { Config } from './config.ts';
import { generateDataset } from './dataset.ts';
import { Draining } from './draining.ts';
import { METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE } from './errors.ts';
import { createFastPath, type FastPath } from './fastpath.ts';
import { Faults } from './faults.ts';
import { FORMATTERS, VERSION_HEADER } from './format.ts';
import { clientErrorHandler, handleError, notFound, sendError, writeRawError } from './http-errors.ts';
import { Indexes } from './indexes.ts';
import { Metrics } from './metrics.ts';
import { SWAGGER_OPTIONS } from './openapi.ts';
import {
  allowedMethods,
  answerUnrouted,
  BODY_LIMIT,
  closeBeforeUnreadBody,
  closeWhileDraining,
  limitBody,
  MAX_URL_LENGTH,
  nameVersion,
  refuseLongUrl,
} from './request-steps.ts';
import { opsRoutes } from './routes/ops.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { uiRoutes } from './routes/ui.ts';
import { errorSchema, listedTicketSchema, ticketSchema } from './schemas.ts';
import { Store } from './store.ts';

/** Room for a request line of MAX_URL_LENGTH and ordinary headers; beyond it, 431 (or 414). */
const MAX_HEADER_BYTES = 32 * 1024;

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

/** @param fastPath - the fast path once the app has one: the server is created before the store exists */
function httpServer(fastPath: () => FastPath | undefined) {
  return (handler: RequestListener) => {
    return createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: SERVER_TIMEOUTS.headersTimeout,
        requestTimeout: SERVER_TIMEOUTS.requestTimeout,
        connectionsCheckingInterval: SERVER_TIMEOUTS.connectionsCheckingInterval,
        keepAliveTimeout: SERVER_TIMEOUTS.keepAliveTimeout,
      },
      (request, response) => fastPath()?.(request, response) || handler(request, response),
    );
  };
}

export interface AppOptions {
  /** Set by the process on its first stop signal; tests leave it unset. */
  draining?: Draining;
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
  const draining = options.draining ?? new Draining();
  const version = config.version;
  const data = generateDataset(config.ticketCount, config.seed, FORMATTERS[version].format);
  // A large dataset's indexes are sorted on another core while the app is set up below.
  const indexes = Indexes.build(data);
  const metrics = new Metrics(version, FORMATTERS[version].name);
  const faults = new Faults({ errorRate: config.faultErrorRate, delayMs: config.faultDelayMs });
  const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
  let fastPath: FastPath | undefined;
  const app = Fastify({
    serverFactory: httpServer(() => fastPath),
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
    clientErrorHandler: clientErrorHandler(version, { maxUrlLength: MAX_URL_LENGTH, maxHeaderBytes: MAX_HEADER_BYTES }),
    // A URL the router cannot decode: answered before any onRequest step runs.
    frameworkErrors: (error, _request, reply) => {
      reply.header(VERSION_HEADER, version);
      sendError(reply, 400, error.message);
    },
  });

  // Schemas describe the API for OpenAPI and do nothing else. query.ts enforces Eve's lenient rules, so
  // none rejects; the Eve routes send JSON text they built, and the few objects the operational routes
  // send are too small to repay compiling a serializer for every documented status at start-up.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addSchema(ticketSchema);
  app.addSchema(listedTicketSchema);
  app.addSchema(errorSchema);

  // The request path, in order. Every request, routed or not, passes these steps before its route.
  app.addHook('onRequest', nameVersion(version));
  app.addHook('onRequest', closeWhileDraining(draining));
  app.addHook('onRequest', refuseLongUrl);
  app.addHook('onRequest', closeBeforeUnreadBody);
  app.addHook('onRequest', answerUnrouted(app));
  app.addHook('onRequest', limitBody);
  // Then the route; then, once the answer is sent:
  app.addHook('onResponse', recordMetrics(metrics));
  if (debug) app.addHook('onResponse', logRequest);

  // The only routes with a body Fastify would parse are OPTIONS, which ignores it; limitBody bounds its size.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.setErrorHandler(handleError);
  // An unrouted request never gets here (answerUnrouted answers it first), but a routed one can:
  // Swagger UI's static files answer a missing file with reply.callNotFound().
  app.setNotFoundHandler((_request, reply) => notFound(reply));

  await app.register(swagger, SWAGGER_OPTIONS);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const store = new Store(data, { indexes: await indexes });
  // Faults and per-request logs apply to every request, so they need the full path.
  if (!faults.enabled && !debug)
    fastPath = createFastPath({ store, version, draining, metrics, maxUrlLength: MAX_URL_LENGTH });
  ticketRoutes(app, store, faults);
  opsRoutes(app, { version, ticketCount: data.count, seed: config.seed, draining, metrics });
  uiRoutes(app, version);
  // Node hands CONNECT to a 'connect' listener, never to a request handler,
  // and drops the connection unanswered when there is none.
  app.server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const allow = allowedMethods(app, request.url ?? '');
    if (allow) writeRawError(socket, version, 405, METHOD_NOT_ALLOWED_MESSAGE, `Allow: ${allow}\r\n`);
    else writeRawError(socket, version, 404, NOT_FOUND_MESSAGE);
  });
  await app.ready();
  return app;
}

/** Requests and latency by route, method and status; a route is labelled by its path pattern, 404s share one. */
function recordMetrics(metrics: Metrics): onResponseHookHandler {
  return function recordMetrics(request, reply, done) {
    const route = request.is404 ? 'unmatched' : request.routeOptions.url!.replace(/\([^/]*\)$/, '');
    metrics.record(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  };
}

/** One line per request, at debug level only: at info, a load test would drown the logs. */
const logRequest: onResponseHookHandler = function logRequest(request, reply, done) {
  request.log.debug(
    { method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
    'request',
  );
  done();
};
