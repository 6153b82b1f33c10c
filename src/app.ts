// Composes the modules into a Fastify instance; server.ts makes it listen, and
// so do the tests, which ask it over HTTP.
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { Config } from './config.ts';
import { generateDataset } from './dataset.ts';
import { Draining } from './draining.ts';
import { METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE } from './eve-errors.ts';
import { Faults } from './faults.ts';
import { clientErrorHandler, handleError, notFound, sendError, writeRawError } from './http-errors.ts';
import { Metrics } from './metrics.ts';
import { SWAGGER_OPTIONS, SWAGGER_UI_LOGO } from './openapi.ts';
import { allowedMethods, BODY_LIMIT, MAX_URL_LENGTH, requestSteps } from './request-steps.ts';
import { opsRoutes } from './routes/ops.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { uiRoutes } from './routes/ui.ts';
import { errorSchema, listedTicketSchema, ticketSchema } from './schemas.ts';
import { Indexes } from './select/indexes.ts';
import { Store } from './store.ts';
import { FORMATTERS, VERSION_HEADER } from './versions.ts';

/** Room for a request line of MAX_URL_LENGTH and ordinary headers; beyond it, 431 (or 414). */
const MAX_HEADER_BYTES = 32 * 1024;

/**
 * Timeouts for running behind Envoy. An upstream connection must be closed by
 * the proxy, never by us: if we close an idle keep-alive connection just as
 * Envoy sends a request on it, that request is reset. So our keep-alive
 * timeout (KEEP_ALIVE_TIMEOUT_MS, 65 s by default) outlasts the idle timeout
 * the DestinationRule gives Envoy (60 s).
 * A client that has not sent its headers in 10 s is cut off (slow-loris).
 */
export const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  // How often Node enforces the two above; its default (30 s) would let a slow client linger.
  connectionsCheckingInterval: 1_000,
};

/** Node's server with the limits and timeouts above and KEEP_ALIVE_TIMEOUT_MS; Fastify's handler is its only request listener. */
function httpServer(keepAliveTimeout: number) {
  return (handler: RequestListener) =>
    createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        headersTimeout: SERVER_TIMEOUTS.headersTimeout,
        requestTimeout: SERVER_TIMEOUTS.requestTimeout,
        connectionsCheckingInterval: SERVER_TIMEOUTS.connectionsCheckingInterval,
        keepAliveTimeout,
      },
      handler,
    );
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
  const app = Fastify({
    serverFactory: httpServer(config.keepAliveTimeoutMs),
    logger: loggerOptions(config),
    // Per-request lines come from the logRequest step, at debug; Fastify's own are at info.
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

  // The request path, in order: every request passes these steps around its route.
  const steps = requestSteps(app, { version, draining, faults, metrics });
  for (const step of steps.onRequest) app.addHook('onRequest', step);
  for (const step of steps.onResponse) app.addHook('onResponse', step);

  // The only routes with a body Fastify would parse are OPTIONS, which ignores it; limitBody bounds its size.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  app.setErrorHandler(handleError);
  // An unrouted request never gets here (answerUnrouted answers it first), but a routed one can:
  // Swagger UI's static files answer a missing file with reply.callNotFound().
  app.setNotFoundHandler((_request, reply) => notFound(reply));

  await app.register(swagger, SWAGGER_OPTIONS);
  await app.register(swaggerUi, { routePrefix: '/docs', logo: SWAGGER_UI_LOGO });

  ticketRoutes(app, new Store(data, { indexes: await indexes }));
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
