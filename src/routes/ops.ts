// Operational endpoints for Kubernetes, the mesh and people: liveness,
// readiness, what is running, and the API description.
import type { FastifyInstance } from 'fastify';
import type { Draining } from '../draining.ts';
import { FORMATTERS, type VersionName } from '../format.ts';
import { METRICS_CONTENT_TYPE, type Metrics } from '../metrics.ts';
import { RELEASE } from '../release.ts';
import { statusSchema } from '../schemas.ts';

export interface OpsInfo {
  version: VersionName;
  ticketCount: number;
  seed: number;
  draining: Draining;
  metrics: Metrics;
}

export function opsRoutes(app: FastifyInstance, info: OpsInfo): void {
  const tags = ['operations'];
  app.get('/healthz', { schema: { summary: 'Liveness', tags, response: { 200: statusSchema } } }, () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 200 once listening, 503 from the first stop signal',
        tags,
        response: { 200: statusSchema, 503: statusSchema },
      },
    },
    (_request, reply) => {
      if (info.draining.active) return reply.code(503).send({ status: 'draining' });
      if (!app.server.listening) return reply.code(503).send({ status: 'starting' });
      return { status: 'ok' };
    },
  );

  const version = {
    service: 'ecadraft',
    version: info.version,
    formatter: FORMATTERS[info.version].name,
    release: RELEASE,
    tickets: info.ticketCount,
    seed: info.seed,
  };
  app.get(
    '/version',
    {
      schema: {
        summary: 'Which version answers, and with which formatter and data',
        tags,
        response: {
          200: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              version: { type: 'string' },
              formatter: { type: 'string' },
              release: { type: 'string' },
              tickets: { type: 'integer' },
              seed: { type: 'integer' },
            },
          },
        },
      },
    },
    () => version,
  );

  app.get(
    '/metrics',
    {
      schema: { summary: 'Prometheus metrics: requests and latency by route, method, status code and version', tags },
    },
    async (_request, reply) => reply.header('content-type', METRICS_CONTENT_TYPE).send(await info.metrics.text()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
