// The Eve API: home, the tickets collection and one ticket. The handlers only
// translate between HTTP and the store.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isNotModified } from '../conditional.ts';
import { HOME_BODY } from '../serialize.ts';
import type { Representation, Store } from '../store.ts';
import { collectionSchema, errorResponses, listQuerySchema } from '../schemas.ts';
import { notFound } from '../http-errors.ts';

export const EVE_ALLOW = 'GET, HEAD, OPTIONS';
const JSON_TYPE = 'application/json';
const ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

function queryString(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function send(request: FastifyRequest, reply: FastifyReply, rep: Representation): FastifyReply {
  reply.header('etag', rep.etag);
  if (rep.lastModified !== undefined) reply.header('last-modified', rep.lastModified);
  if (rep.total !== undefined) reply.header('x-total-count', rep.total);
  const { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = request.headers;
  if (isNotModified(ifNoneMatch, ifModifiedSince, rep)) return reply.code(304).send();
  return reply.header('content-type', JSON_TYPE).send(rep.body);
}

function options(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.header('allow', EVE_ALLOW).send();
}

export function ticketRoutes(app: FastifyInstance, store: Store): void {
  const home = Buffer.from(HOME_BODY);
  const withOptions = (url: string, schema: object, handler: (request: FastifyRequest, reply: FastifyReply) => FastifyReply) => {
    app.get(url, { schema }, handler);
    app.options(url, { schema: { hide: true } }, options);
  };

  withOptions('/', { summary: 'Home: links to the resources', tags: ['eve'] }, (_request, reply) =>
    reply.header('content-type', JSON_TYPE).send(home));

  withOptions('/tickets', {
    summary: 'A page of tickets',
    tags: ['eve'],
    querystring: listQuerySchema,
    response: { 200: collectionSchema, 304: { description: 'Not modified (If-None-Match)' }, ...errorResponses },
  }, (request, reply) => send(request, reply, store.collection(queryString(request.url))));

  withOptions(`/tickets/:_id(${ID_PATTERN})`, {
    summary: 'One ticket',
    tags: ['eve'],
    params: { type: 'object', properties: { _id: { type: 'string', format: 'uuid' } } },
    querystring: listQuerySchema,
    response: { 200: { $ref: 'Ticket#' }, 304: { description: 'Not modified' }, ...errorResponses },
  }, (request, reply) => {
    const { _id } = request.params as { _id: string };
    const rep = store.item(_id, queryString(request.url));
    return rep ? send(request, reply, rep) : notFound(reply);
  });
}
