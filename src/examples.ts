// Examples for the OpenAPI document: real answers of v1 on the default data
// (SEED 20200714, TICKET_COUNT 100), each with the request that gives it. A
// test replays every request and fails when an answer no longer matches, so
// a change of seed, faker or format cannot leave the document stale.
import { DEFAULT_SEED, VARIABLES } from './config.ts';
import { INTERNAL_ERROR_MESSAGE, METHOD_NOT_ALLOWED_MESSAGE, NOT_FOUND_MESSAGE } from './eve-errors.ts';
import { RELEASE } from './release.ts';

export interface Example {
  method: 'GET' | 'POST';
  url: string;
  status: number;
  /** The JSON body, parsed. */
  body: unknown;
  /** Headers the answer carries with exactly these values. */
  headers?: Record<string, string>;
}

/** Said once in the document, so every example can be read as what it is. */
export const EXAMPLES_NOTE =
  `Examples are real answers of v1 on the default data (SEED ${DEFAULT_SEED}, TICKET_COUNT ${VARIABLES.ticketCount.default}); ` +
  'v2 gives the same with the customer in upper case, and so other `_etag` and `ETag` values.';

const FIRST_ID = '12062f4f-7b5a-4814-9829-9bcba7b1c14e';
/** The first ticket, as a page lists it and as its own URL serves it, but for `_links`. */
const FIRST_TICKET = {
  customer: 'Aufderhar - Parker',
  status: 'Open',
  product: 'Fantastic Rubber Fish',
  _id: FIRST_ID,
  _updated: 'Sun, 17 Apr 2022 06:34:18 GMT',
  _created: 'Sun, 10 Apr 2022 23:38:34 GMT',
  _etag: '065e62d6c0af833d25b06c15194539e9ba74f98c',
} as const;
const FIRST_SELF = { title: 'Ticket', href: `tickets/${FIRST_ID}` } as const;

const error = (code: number, message: string) => ({ _status: 'ERR', _error: { code, message } });

export const EXAMPLES = {
  home: {
    method: 'GET',
    url: '/',
    status: 200,
    body: { _links: { child: [{ href: 'tickets', title: 'tickets' }] } },
  },
  collection: {
    method: 'GET',
    url: '/tickets?max_results=2',
    status: 200,
    headers: {
      etag: '"a92c483bd276caabe20c7616df4d36fc02318bb9"',
      'last-modified': 'Fri, 03 Nov 2023 20:00:58 GMT',
      'x-total-count': '100',
    },
    body: {
      _items: [
        { ...FIRST_TICKET, _links: { self: FIRST_SELF } },
        {
          customer: 'Heathcote, Howe And Rippin',
          status: 'In Progress',
          product: 'Small Concrete Car',
          _id: 'c36c96e8-c222-4518-b762-0c8eabb7a727',
          _updated: 'Fri, 03 Nov 2023 20:00:58 GMT',
          _created: 'Tue, 24 Oct 2023 18:03:35 GMT',
          _etag: 'd7dee15259d35eb6b4a9f721c4b518dc4b44e240',
          _links: { self: { title: 'Ticket', href: 'tickets/c36c96e8-c222-4518-b762-0c8eabb7a727' } },
        },
      ],
      _links: {
        parent: { title: 'home', href: '/' },
        self: { title: 'tickets', href: 'tickets?max_results=2' },
        next: { title: 'next page', href: 'tickets?max_results=2&page=2' },
        last: { title: 'last page', href: 'tickets?max_results=2&page=50' },
      },
      _meta: { page: 1, max_results: 2, total: 100 },
    },
  },
  ticket: {
    method: 'GET',
    url: `/tickets/${FIRST_ID}`,
    status: 200,
    headers: { etag: '"065e62d6c0af833d25b06c15194539e9ba74f98c"', 'last-modified': 'Sun, 17 Apr 2022 06:34:18 GMT' },
    body: {
      ...FIRST_TICKET,
      _links: {
        self: FIRST_SELF,
        parent: { title: 'home', href: '/' },
        collection: { title: 'tickets', href: 'tickets' },
      },
    },
  },
  badRequest: {
    method: 'GET',
    url: '/tickets?where={"status":{"$regex":"^O"}}',
    status: 400,
    body: error(400, 'Query contains operators banned: $regex'),
  },
  badItemRequest: {
    method: 'GET',
    url: `/tickets/${FIRST_ID}?projection={"status":2}`,
    status: 400,
    body: error(400, 'Unable to parse `projection`: "status" must be 0 or 1'),
  },
  notFound: {
    method: 'GET',
    url: '/tickets/00000000-0000-4000-8000-000000000000',
    status: 404,
    body: error(404, NOT_FOUND_MESSAGE),
  },
  methodNotAllowed: {
    method: 'POST',
    url: '/tickets',
    status: 405,
    headers: { allow: 'GET, HEAD, OPTIONS' },
    body: error(405, METHOD_NOT_ALLOWED_MESSAGE),
  },
  version: {
    method: 'GET',
    url: '/version',
    status: 200,
    body: {
      service: 'ecadraft',
      version: 'v1',
      formatter: 'title-case',
      release: RELEASE,
      tickets: Number(VARIABLES.ticketCount.default),
      seed: DEFAULT_SEED,
    },
  },
  health: { method: 'GET', url: '/healthz', status: 200, body: { status: 'ok' } },
  ready: { method: 'GET', url: '/readyz', status: 200, body: { status: 'ok' } },
  draining: { method: 'GET', url: '/readyz', status: 503, body: { status: 'draining' } },
} as const satisfies Record<string, Example>;

/** A deliberate failure: the same body as any 500. */
export const FAULT_EXAMPLE = {
  method: 'GET',
  url: '/tickets with FAULT_ERROR_RATE=1',
  status: 500,
  body: error(500, INTERNAL_ERROR_MESSAGE),
} as const satisfies Example;

/** Lines of /metrics that name the running version, as a dashboard reads them. */
export const METRICS_EXAMPLE = [
  '# HELP ecadraft_info The running version and its formatter',
  '# TYPE ecadraft_info gauge',
  'ecadraft_info{version="v1",formatter="title-case"} 1',
  '',
].join('\n');
