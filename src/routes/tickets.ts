// The Eve API: home, the tickets collection and one ticket. The handlers only
// translate between HTTP and the store, which caches the answers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isNotModified } from '../conditional.ts';
import { ID_PATTERN } from '../dataset.ts';
import { EXAMPLES } from '../examples.ts';
import { notFound } from '../http-errors.ts';
import {
  bodiless,
  eveError,
  FAULT,
  headSchema,
  ITEM_VALIDATORS,
  json,
  optionsResponse,
  PAGE_VALIDATORS,
} from '../openapi.ts';
import { type Representation, setValidatorHeaders } from '../representation.ts';
import { collectionSchema, homeSchema, itemParamsSchema, itemQuerySchema, listQuerySchema } from '../schemas.ts';
import { HOME_BODY, JSON_CONTENT_TYPE } from '../serialize.ts';
import type { Store } from '../store.ts';

export const EVE_ALLOW = 'GET, HEAD, OPTIONS';

/** A request target's raw query string, without the `?`: the store reads it with Eve's rules. */
function queryStringOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function send(request: FastifyRequest, reply: FastifyReply, rep: Representation): FastifyReply {
  setValidatorHeaders(rep, reply);
  const { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = request.headers;
  if (isNotModified(ifNoneMatch, ifModifiedSince, rep)) return reply.code(304).send();
  return reply.header('content-type', JSON_CONTENT_TYPE).send(rep.body);
}

function options(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.header('allow', EVE_ALLOW).send();
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => FastifyReply;

const NOT_MODIFIED = 'No body; the same validators as the 200.';

/** Faults apply to every method of the Eve routes. */
const config = { faults: true };

export function ticketRoutes(app: FastifyInstance, store: Store): void {
  const home = Buffer.from(HOME_BODY);
  /** GET, then HEAD and OPTIONS of the same path, each its own documented operation. */
  const eveRoute = (url: string, name: string, schema: ReturnType<typeof eveOperation>, handler: Handler) => {
    // HEAD shares GET's handler rather than Fastify's generated HEAD route,
    // which would add a Content-Length to a 304 that GET's 304 lacks.
    app.route({ method: 'GET', url, schema, exposeHeadRoute: false, config, handler });
    // @fastify/swagger documents a HEAD route when asked, as GET's operationId + `-head`.
    const swagger = { exposeHeadRoute: true };
    app.route({ method: 'HEAD', url, schema: headSchema(schema), config: { ...config, swagger }, handler });
    // Swagger UI shows the path beside it: a summary that repeated it would read "The methods / serves".
    const summary = 'Allowed methods, in the Allow header';
    app.options(
      url,
      {
        schema: {
          operationId: `options${name}`,
          summary,
          tags: schema.tags,
          ...('params' in schema && { params: schema.params }),
          response: optionsResponse(EVE_ALLOW),
        },
        config,
      },
      options,
    );
  };

  eveRoute(
    '/',
    'Home',
    eveOperation({
      operationId: 'getHome',
      summary: 'Home',
      description: 'Links to the one resource, `tickets`. Query parameters are ignored.',
      response: { 200: json('Links to the resources', homeSchema, EXAMPLES.home), 500: FAULT },
    }),
    (_request, reply) => reply.header('content-type', JSON_CONTENT_TYPE).send(home),
  );

  eveRoute(
    '/tickets',
    'Tickets',
    eveOperation({
      operationId: 'listTickets',
      summary: 'A page of tickets',
      description:
        'Filtered, sorted and paged as Eve does. Parameters not listed here are ignored for the query ' +
        'and echoed into the page links.',
      querystring: listQuerySchema,
      response: {
        200: json(
          'A page of tickets: `_items`, `_links` to the neighbouring pages, `_meta`',
          collectionSchema,
          EXAMPLES.collection,
          PAGE_VALIDATORS,
        ),
        304: bodiless(`Not modified: \`If-None-Match\` matches the ETag. ${NOT_MODIFIED}`, PAGE_VALIDATORS),
        400: eveError('A malformed parameter; the message says which and why', EXAMPLES.badRequest),
        500: FAULT,
      },
    }),
    (request, reply) => send(request, reply, store.collection(queryStringOf(request.url))),
  );

  eveRoute(
    `/tickets/:_id(${ID_PATTERN})`,
    'Ticket',
    eveOperation({
      operationId: 'getTicket',
      summary: 'One ticket',
      description:
        'Honours `projection` and `pretty`. Any other parameter (`where`, `sort`, `page`, `max_results`, ' +
        'anything else) leaves the ticket as it is and is echoed into its `collection` link; a malformed ' +
        '`where`, `sort` or `embedded` is still a 400, as on the collection.',
      params: itemParamsSchema,
      querystring: itemQuerySchema,
      response: {
        200: json('The ticket', { $ref: 'Ticket#' }, EXAMPLES.ticket, ITEM_VALIDATORS),
        304: bodiless(
          'Not modified: `If-None-Match` matches the ETag, or `_updated` is not after `If-Modified-Since` ' +
            `(with a second's slack); both must hold when both are sent. ${NOT_MODIFIED}`,
          ITEM_VALIDATORS,
        ),
        400: eveError('A malformed parameter; the message says which and why', EXAMPLES.badItemRequest),
        404: eveError('No ticket has this id', EXAMPLES.notFound),
        500: FAULT,
      },
    }),
    (request, reply) => {
      const { _id } = request.params as { _id: string };
      const rep = store.item(_id, queryStringOf(request.url));
      return rep ? send(request, reply, rep) : notFound(reply);
    },
  );
}

/** A GET operation of the Eve API: HEAD's and OPTIONS' documentation derive from it. */
function eveOperation<S extends { operationId: string; summary: string; response: Record<string, object> }>(schema: S) {
  return { tags: ['eve'], ...schema };
}
