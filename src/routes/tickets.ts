// The Eve API: home, the tickets collection and one ticket. The handlers only
// translate between HTTP and the store; fastpath.ts serves repeats of the same answers.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { isNotModified } from '../conditional.ts';
import { INTERNAL_ERROR_MESSAGE } from '../errors.ts';
import type { Faults } from '../faults.ts';
import { notFound, sendError } from '../http-errors.ts';
import { collectionSchema, errorResponses, listQuerySchema } from '../schemas.ts';
import { HOME_BODY, JSON_CONTENT_TYPE } from '../serialize.ts';
import {
  COLLECTION_PATH,
  ID_PATTERN,
  ITEM_PATH,
  type Representation,
  type Store,
  splitTarget,
  validatorHeaders,
} from '../store.ts';

export const EVE_ALLOW = 'GET, HEAD, OPTIONS';

function send(request: FastifyRequest, reply: FastifyReply, rep: Representation): FastifyReply {
  for (const [name, value] of validatorHeaders(rep)) reply.header(name, value);
  const { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = request.headers;
  if (isNotModified(ifNoneMatch, ifModifiedSince, rep)) return reply.code(304).send();
  return reply.header('content-type', JSON_CONTENT_TYPE).send(rep.body);
}

function options(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.header('allow', EVE_ALLOW).send();
}

/** Delays and failures of FAULT_DELAY_MS and FAULT_ERROR_RATE, on the Eve routes only. */
function faultHook(faults: Faults): onRequestAsyncHookHandler {
  return async (_request, reply) => {
    const delay = faults.delay();
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (faults.fails()) {
      sendError(reply.header('x-ecadraft-fault', 'error'), 500, INTERNAL_ERROR_MESSAGE);
      return reply;
    }
    return undefined;
  };
}

export function ticketRoutes(app: FastifyInstance, store: Store, faults: Faults): void {
  const home = Buffer.from(HOME_BODY);
  const onRequest = faults.enabled ? faultHook(faults) : undefined;
  const withOptions = (
    url: string,
    schema: object,
    handler: (request: FastifyRequest, reply: FastifyReply) => FastifyReply,
  ) => {
    // HEAD shares GET's handler rather than Fastify's generated HEAD route,
    // which would add a Content-Length to a 304 that GET's 304 lacks.
    app.route({
      method: ['GET', 'HEAD'],
      url,
      schema,
      exposeHeadRoute: false,
      ...(onRequest && { onRequest }),
      handler,
    });
    app.options(url, { schema: { hide: true }, ...(onRequest && { onRequest }) }, options);
  };

  withOptions('/', { summary: 'Home: links to the resources', tags: ['eve'] }, (_request, reply) =>
    reply.header('content-type', JSON_CONTENT_TYPE).send(home),
  );

  withOptions(
    COLLECTION_PATH,
    {
      summary: 'A page of tickets',
      tags: ['eve'],
      querystring: listQuerySchema,
      response: { 200: collectionSchema, 304: { description: 'Not modified (If-None-Match)' }, ...errorResponses },
    },
    (request, reply) => send(request, reply, store.collection(splitTarget(request.url).queryString)),
  );

  withOptions(
    `${ITEM_PATH}(${ID_PATTERN})`,
    {
      summary: 'One ticket',
      tags: ['eve'],
      params: { type: 'object', properties: { _id: { type: 'string', format: 'uuid' } } },
      querystring: listQuerySchema,
      response: { 200: { $ref: 'Ticket#' }, 304: { description: 'Not modified' }, ...errorResponses },
    },
    (request, reply) => {
      const { _id } = request.params as { _id: string };
      const rep = store.item(_id, splitTarget(request.url).queryString);
      return rep ? send(request, reply, rep) : notFound(reply);
    },
  );
}
