// JSON Schemas of the answers and parameters, for the OpenAPI document. They
// describe the API exactly (a test validates real answers against them); Eve's
// lenient parameter rules live in query.ts, so no schema here rejects a request.
import { ID_PATTERN, STATUSES } from './dataset.ts';
import { DEFAULT_MAX_RESULTS, MAX_MAX_RESULTS } from './query.ts';
import { FORMATTERS, VERSION_NAMES } from './versions.ts';

/** Eve's dates: RFC 1123 with a literal GMT. */
export const HTTP_DATE_PATTERN =
  '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$';

const link = {
  type: 'object',
  required: ['title', 'href'],
  additionalProperties: false,
  properties: { title: { type: 'string' }, href: { type: 'string' } },
} as const;

/** An object whose properties are all given; `required` names those always present. */
const closed = <P extends Record<string, object>>(properties: P, required: readonly (keyof P & string)[]) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

const ticketFields = {
  customer: {
    type: 'string',
    description: 'The only field the versions format differently: v1 title case, v2 upper case.',
  },
  status: { type: 'string', enum: STATUSES },
  product: { type: 'string' },
  _id: { type: 'string', format: 'uuid', pattern: ID_PATTERN },
  _updated: { type: 'string', pattern: HTTP_DATE_PATTERN, description: 'RFC 1123; never before `_created`' },
  _created: { type: 'string', pattern: HTTP_DATE_PATTERN, description: 'RFC 1123' },
  _etag: {
    type: 'string',
    pattern: '^[0-9a-f]{40}$',
    description: 'SHA-1 of the ticket as this version serves it: stable across restarts and replicas',
  },
} as const;

/** `projection` may leave out customer, status and product; the rest always come. */
const ALWAYS = ['_id', '_updated', '_created', '_etag', '_links'] as const;

export const ticketSchema = {
  $id: 'Ticket',
  description: 'One ticket, as /tickets/{_id} serves it: its `_links` lead to itself, home and the collection.',
  ...closed(
    {
      ...ticketFields,
      _links: closed({ self: link, parent: link, collection: link }, ['self', 'parent', 'collection']),
    },
    ALWAYS,
  ),
} as const;

export const listedTicketSchema = {
  $id: 'ListedTicket',
  description: 'A ticket as a page lists it: its `_links` hold only `self`.',
  ...closed({ ...ticketFields, _links: closed({ self: link }, ['self']) }, ALWAYS),
} as const;

export const errorSchema = {
  $id: 'EveError',
  description: "Eve's error body, on every 4xx and 5xx of every route",
  ...closed(
    {
      _status: { type: 'string', enum: ['ERR'] },
      _error: closed({ code: { type: 'integer', minimum: 400, maximum: 599 }, message: { type: 'string' } }, [
        'code',
        'message',
      ]),
    },
    ['_status', '_error'],
  ),
} as const;

export const collectionSchema = closed(
  {
    _items: { type: 'array', items: { $ref: 'ListedTicket#' }, maxItems: MAX_MAX_RESULTS },
    _links: closed({ parent: link, self: link, next: link, last: link, prev: link }, ['parent', 'self']),
    _meta: closed(
      {
        page: { type: 'integer', minimum: 1 },
        max_results: { type: 'integer', minimum: 1, maximum: MAX_MAX_RESULTS },
        total: { type: 'integer', minimum: 0, description: 'Every ticket that matches, not just this page' },
      },
      ['page', 'max_results', 'total'],
    ),
  },
  ['_items', '_links', '_meta'],
);

export const homeSchema = closed(
  { _links: closed({ child: { type: 'array', items: link, minItems: 1 } }, ['child']) },
  ['_links'],
);

const LENIENT = 'Read as Eve reads it: never a 400.';

export const listQuerySchema = {
  type: 'object',
  properties: {
    where: {
      type: 'string',
      description:
        'Filter: Mongo-style JSON (`{"status": "Open"}`, operators `$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $nor $not`) ' +
        'or a Python-style expression (`status=="Open" and customer>"M"`). Malformed, or a refused operator: 400.',
    },
    sort: {
      type: 'string',
      description:
        '`[("customer", -1), ("status", 1)]` or `status,-customer`; ties keep dataset order. Malformed: 400.',
    },
    page: {
      type: 'integer',
      minimum: 1,
      default: 1,
      description: `Page number. ${LENIENT} Its integer's absolute value; 0 or unparsable is 1.`,
    },
    max_results: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_MAX_RESULTS,
      default: DEFAULT_MAX_RESULTS,
      description: `Page size. ${LENIENT} Truncated to an integer; unparsable or below 1 is ${DEFAULT_MAX_RESULTS}, above ${MAX_MAX_RESULTS} is ${MAX_MAX_RESULTS}.`,
    },
    projection: {
      type: 'string',
      description:
        'JSON object of fields to include (1) or exclude (0); `_id`, `_updated`, `_created`, `_etag` and `_links` always come.',
    },
    embedded: { type: 'string', description: "Accepted for Eve's clients: must be a JSON object, has no effect." },
    pretty: { type: 'string', description: 'Present, with any value or none: the JSON is indented by four spaces.' },
  },
} as const;

/** The item honours only these; everything else is echoed into its `collection` link. */
export const itemQuerySchema = {
  type: 'object',
  properties: { projection: listQuerySchema.properties.projection, pretty: listQuerySchema.properties.pretty },
} as const;

export const itemParamsSchema = {
  type: 'object',
  required: ['_id'],
  properties: {
    _id: {
      type: 'string',
      format: 'uuid',
      pattern: ID_PATTERN,
      description: 'A lowercase UUID; anything else is no ticket (404).',
    },
  },
} as const;

export const healthSchema = closed({ status: { type: 'string', enum: ['ok'] } }, ['status']);

export const notReadySchema = closed(
  {
    status: {
      type: 'string',
      enum: ['starting', 'draining'],
      description: '`starting` until the server listens, `draining` from the first stop signal',
    },
  },
  ['status'],
);

export const versionSchema = closed(
  {
    service: { type: 'string', enum: ['ecadraft'] },
    version: { type: 'string', enum: VERSION_NAMES },
    formatter: { type: 'string', enum: Object.values(FORMATTERS).map((f) => f.name) },
    release: { type: 'string', description: 'The version in package.json' },
    tickets: { type: 'integer', minimum: 1 },
    seed: { type: 'integer', minimum: 0 },
  },
  ['service', 'version', 'formatter', 'release', 'tickets', 'seed'],
);
