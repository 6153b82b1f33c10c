// OpenAPI descriptions of the routes. They document the API; Eve's lenient
// parameter rules live in query.ts, so no schema here ever rejects a request.
const link = {
  type: 'object',
  properties: { title: { type: 'string' }, href: { type: 'string' } },
} as const;

export const ticketSchema = {
  $id: 'Ticket',
  type: 'object',
  description: 'A support ticket. Only `customer` differs between versions (v1 title case, v2 upper case).',
  properties: {
    customer: { type: 'string', examples: ['Krajcik Inc'] },
    status: { type: 'string', enum: ['Open', 'Pending', 'In Progress', 'Resolved', 'Closed'] },
    product: { type: 'string', examples: ['Licensed Wooden Salad'] },
    _id: { type: 'string', format: 'uuid' },
    _updated: { type: 'string', description: 'RFC 1123 date', examples: ['Tue, 14 Jul 2020 08:02:11 GMT'] },
    _created: { type: 'string', description: 'RFC 1123 date' },
    _etag: { type: 'string', pattern: '^[0-9a-f]{40}$' },
    _links: { type: 'object', additionalProperties: link },
  },
} as const;

export const errorSchema = {
  $id: 'EveError',
  type: 'object',
  description: "Eve's error body, on every 4xx and 5xx",
  properties: {
    _status: { type: 'string', const: 'ERR' },
    _error: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } } },
  },
} as const;

export const listQuerySchema = {
  type: 'object',
  properties: {
    where: {
      type: 'string',
      description:
        'Filter: Mongo-style JSON (`{"status": "Open"}`) or a Python-style expression (`status=="Open" and customer>"M"`).',
    },
    sort: { type: 'string', description: '`[("customer", -1)]` or `status,-customer`' },
    page: { type: 'string', description: 'Page number (default 1)' },
    max_results: { type: 'string', description: 'Page size, 1 to 50 (default 25)' },
    projection: { type: 'string', description: 'JSON object of fields to include (1) or exclude (0)' },
    embedded: { type: 'string', description: 'Accepted for Eve compatibility (a JSON object); no effect' },
    pretty: { type: 'string', description: 'Present (any value): indent the JSON by four spaces' },
  },
} as const;

export const collectionSchema = {
  type: 'object',
  properties: {
    _items: { type: 'array', items: { $ref: 'Ticket#' } },
    _links: { type: 'object', additionalProperties: link },
    _meta: {
      type: 'object',
      properties: { page: { type: 'integer' }, max_results: { type: 'integer' }, total: { type: 'integer' } },
    },
  },
} as const;

export const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' } },
} as const;

export const errorResponses = {
  400: { $ref: 'EveError#' },
  404: { $ref: 'EveError#' },
} as const;
