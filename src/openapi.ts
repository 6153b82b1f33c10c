// The OpenAPI document: @fastify/swagger builds it from the route schemas;
// this module gives those schemas their responses (descriptions, headers,
// examples) and adds what no single route says.
import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { EXAMPLES, EXAMPLES_NOTE, type Example, FAULT_EXAMPLE } from './examples.ts';
import { FAULT_HEADER } from './faults.ts';
import { VERSION_HEADER, VERSION_NAMES } from './format.ts';
import { RELEASE } from './release.ts';
import { BODY_LIMIT, MAX_URL_LENGTH } from './request-steps.ts';
import { HTTP_DATE_PATTERN } from './schemas.ts';

/**
 * A response header as a route schema gives it to @fastify/swagger, which
 * writes everything but the description into the header's schema. OpenAPI
 * says "required" on the header itself, so it travels as `x-required` and
 * `requiredHeaders` below moves it there.
 */
interface Header {
  description: string;
  type: 'string' | 'integer';
  [keyword: string]: unknown;
}

const REQUIRED = 'x-required';

export const header = (description: string, schema: Record<string, unknown>, required = true): Header =>
  ({ description, type: 'string', ...schema, ...(required && { [REQUIRED]: true }) }) as Header;

type Headers = Record<string, Header>;

export const VERSION: Headers = {
  [VERSION_HEADER]: header('The version that answered', { enum: VERSION_NAMES, example: 'v1' }),
};
export const ETAG = header('The validator to send back in `If-None-Match`', {
  pattern: '^"[0-9a-f]{40}"$',
  example: EXAMPLES.collection.headers.etag,
});
/** An item's validators: its `_etag` and its `_updated`. */
export const ITEM_VALIDATORS: Headers = {
  ETag: { ...ETAG, description: "The ticket's `_etag`, quoted" },
  'Last-Modified': header("The ticket's `_updated`, for `If-Modified-Since`", {
    pattern: HTTP_DATE_PATTERN,
    example: EXAMPLES.ticket.headers['last-modified'],
  }),
};
/** A page's validators, and how many tickets match over all pages. */
export const PAGE_VALIDATORS: Headers = {
  ETag: { ...ETAG, description: 'SHA-1 of the exact body, quoted' },
  'Last-Modified': header(
    'The newest `_updated` on the page; absent on an empty page',
    { pattern: HTTP_DATE_PATTERN, example: EXAMPLES.collection.headers['last-modified'] },
    false,
  ),
  'X-Total-Count': header('Tickets that match, over all pages (`_meta.total`)', {
    type: 'integer',
    minimum: 0,
    example: Number(EXAMPLES.collection.headers['x-total-count']),
  }),
};
const ALLOW = header('The methods this path serves', { example: EXAMPLES.methodNotAllowed.headers.allow });

/** OpenAPI's named examples: one, named by the request that gives it (Swagger UI shows it as the summary). */
const examplesOf = (example: Example) => ({
  [`${example.method} ${example.url}`]: { summary: `${example.method} ${example.url}`, value: example.body },
});

/** A JSON answer: its schema, a real example, and its headers besides the version. */
export function json(description: string, schema: object, example: Example, headers: Headers = {}) {
  // In `content`, where a $ref schema keeps its examples (the resolver drops a $ref's siblings).
  return {
    description,
    content: { 'application/json': { schema, examples: examplesOf(example) } },
    headers: { ...VERSION, ...headers },
  };
}

/** An answer without a body: a 304, an OPTIONS, and every answer to HEAD. */
export function bodiless(description: string, headers: Headers = {}) {
  return { type: 'null', description, headers: { ...VERSION, ...headers } } as const;
}

export const eveError = (description: string, example: Example, headers: Headers = {}) =>
  json(description, { $ref: 'EveError#' }, example, headers);

/** On the Eve routes, only when FAULT_ERROR_RATE is set. */
export const FAULT = eveError(
  'Only with `FAULT_ERROR_RATE` set: a deliberate failure, for rollback demos',
  FAULT_EXAMPLE,
  { [FAULT_HEADER]: header('Marks a deliberate failure', { enum: ['error'] }) },
);

export const optionsResponse = (allow: string) => ({
  200: bodiless(`The methods this path serves, in \`Allow\` (\`${allow}\`); no body`, { Allow: ALLOW }),
  500: FAULT,
});

/**
 * HEAD answers as GET does, with the same status and headers and no body:
 * its own operation, documented without content.
 */
export function headSchema(get: FastifySchema & { response: Record<string, object> }) {
  const response = Object.fromEntries(
    Object.entries(get.response).map(([status, answer]) => {
      const { description, headers } = answer as { description: string; headers: Headers };
      return [status, bodiless(description, headers)];
    }),
  );
  return { ...get, summary: `${get.summary} (headers only)`, response };
}

/** The 405 any path gives to a method it does not serve: no route of its own, so a shared response. */
const methodNotAllowed = {
  description:
    'Any method a path does not serve (POST, PUT, PATCH, DELETE, CONNECT, ...): the methods it serves, in `Allow`',
  headers: {
    Allow: {
      description: ALLOW.description,
      required: true,
      schema: { type: 'string' as const, example: ALLOW.example },
    },
    [VERSION_HEADER]: {
      description: VERSION[VERSION_HEADER]!.description,
      required: true,
      schema: { type: 'string' as const, enum: VERSION_NAMES },
    },
  },
  content: {
    'application/json': {
      schema: { $ref: '#/components/schemas/EveError' },
      examples: examplesOf(EXAMPLES.methodNotAllowed),
    },
  },
};

const DESCRIPTION = `Support tickets in the wire format of Eve, in two versions told apart by the casing of the
customer and by the \`${VERSION_HEADER}\` header, which every answer carries.

Every 4xx and 5xx carries Eve's error body (\`EveError\`). Besides what each operation lists, any route answers:

- 405 to a method the path does not serve, with \`Allow\` (\`#/components/responses/MethodNotAllowed\`); 404 to an
  unknown path;
- 400 to a URL that is not one: a raw non-ASCII or control byte, a bad percent-escape (the message says which);
- 414 to a URL over ${MAX_URL_LENGTH} characters, 431 to headers too large, 413 to a body over ${BODY_LIMIT} bytes
  (read-only routes need none), 408 to a request that takes too long to arrive.

Query parameters are read with Eve's leniency: their schemas here describe them and never reject a request.

${EXAMPLES_NOTE}`;

/** Moves each header's `x-required` from its schema to the header, where OpenAPI reads it. */
function requiredHeaders<T extends { paths?: object }>(document: T): T {
  type Operation = { responses?: Record<string, { headers?: Record<string, { required?: boolean; schema: Header }> }> };
  for (const path of Object.values((document.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const operation of Object.values(path)) {
      for (const response of Object.values(operation.responses ?? {})) {
        for (const documented of Object.values(response.headers ?? {})) {
          if (documented.schema[REQUIRED]) documented.required = true;
          delete documented.schema[REQUIRED];
        }
      }
    }
  }
  return document;
}

export const SWAGGER_OPTIONS: SwaggerOptions = {
  openapi: {
    openapi: '3.0.3',
    info: { title: 'ecadraft', version: RELEASE, description: DESCRIPTION },
    tags: [
      { name: 'eve', description: "Eve's read API: home, the tickets collection, one ticket" },
      { name: 'operations', description: 'For Kubernetes, the mesh and people: probes, version, metrics' },
    ],
    components: { responses: { MethodNotAllowed: methodNotAllowed } },
  },
  // Shared schemas keep their names (Ticket, EveError) rather than def-0, def-1.
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
  },
  transformObject: (document) =>
    'openapiObject' in document ? requiredHeaders(document.openapiObject) : document.swaggerObject,
};
