// Operational endpoints for Kubernetes, the mesh and people: liveness,
// readiness, what is running, and the API description.
import type { FastifyInstance } from 'fastify';
import type { Draining } from '../draining.ts';
import { EXAMPLES, METRICS_EXAMPLE } from '../examples.ts';
import { METRICS_CONTENT_TYPE, type Metrics } from '../metrics.ts';
import { json, VERSION } from '../openapi.ts';
import { RELEASE } from '../release.ts';
import { healthSchema, notReadySchema, versionSchema } from '../schemas.ts';
import { FORMATTERS, type VersionName } from '../versions.ts';

export interface OpsInfo {
  version: VersionName;
  ticketCount: number;
  seed: number;
  draining: Draining;
  metrics: Metrics;
}

export function opsRoutes(app: FastifyInstance, info: OpsInfo): void {
  const tags = ['operations'];
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'checkLiveness',
        summary: 'Liveness: 200 while the process can serve',
        tags,
        response: { 200: json('The process is alive', healthSchema, EXAMPLES.health) },
      },
    },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'checkReadiness',
        summary: 'Readiness: 200 once listening, 503 from the first stop signal',
        tags,
        response: {
          200: json('Ready: send traffic', healthSchema, EXAMPLES.ready),
          // Not Eve's error body: probes and people read this one.
          503: json('Not ready: still starting, or draining after a stop signal', notReadySchema, EXAMPLES.draining),
        },
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
        operationId: 'getVersion',
        summary: 'Which version answers, and with which formatter and data',
        tags,
        response: { 200: json('What is running', versionSchema, EXAMPLES.version) },
      },
    },
    () => version,
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics: requests and latency by route, method, status code and version',
        tags,
        response: {
          200: {
            description: 'Prometheus text format',
            content: { [METRICS_CONTENT_TYPE]: { schema: { type: 'string' }, example: METRICS_EXAMPLE } },
            headers: VERSION,
          },
        },
      },
    },
    async (_request, reply) => reply.header('content-type', METRICS_CONTENT_TYPE).send(await info.metrics.text()),
  );

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
