// The idiomatic way to serve the same pages, as a yardstick: tickets held as
// objects, each page built as objects per request, and written by Fastify's
// fast-json-stringify through a response schema. It answers the benchmark's
// URLs (paging, a Mongo-style `where` with comparisons, `sort=a,-b`) the way
// Eve would for those; it does not try to be Eve beyond them.
import type { EveItem } from './client.ts';

export interface Ticket {
  customer: string;
  status: string;
  product: string;
  _id: string;
  _updated: string;
  _created: string;
  _etag: string;
}

/** A ticket as an application would hold it: its served fields, and its dates as numbers to sort by. */
export interface Row extends Ticket {
  updatedAt: number;
  createdAt: number;
}

interface Link {
  title: string;
  href: string;
}

export interface CollectionItem extends Ticket {
  _links: { self: Link };
}

export interface Page {
  _items: CollectionItem[];
  _links: { parent: Link; self: Link; next?: Link; last?: Link; prev?: Link };
  _meta: { page: number; max_results: number; total: number };
}

export type PageQuery = Partial<Record<'max_results' | 'page' | 'where' | 'sort', string>>;

export function rowOf(item: EveItem): Row {
  const t = item as unknown as Ticket;
  return {
    customer: t.customer,
    status: t.status,
    product: t.product,
    _id: t._id,
    _updated: t._updated,
    _created: t._created,
    _etag: t._etag,
    updatedAt: Date.parse(t._updated),
    createdAt: Date.parse(t._created),
  };
}

export class BadQuery extends Error {
  readonly statusCode = 400;
}

const DATES: Record<string, keyof Row> = { _updated: 'updatedAt', _created: 'createdAt' };
const fieldValue = (row: Row, field: string): unknown => row[(DATES[field] ?? field) as keyof Row];

type Condition = Record<string, unknown>;
const OPERATORS: Record<string, (a: never, b: never) => boolean> = {
  $eq: (a, b) => a === b,
  $ne: (a, b) => a !== b,
  $gt: (a, b) => a > b,
  $gte: (a, b) => a >= b,
  $lt: (a, b) => a < b,
  $lte: (a, b) => a <= b,
};

function filterOf(where: string): (row: Row) => boolean {
  let spec: Record<string, unknown>;
  try {
    spec = JSON.parse(where) as Record<string, unknown>;
  } catch {
    throw new BadQuery('where: not JSON');
  }
  const tests = Object.entries(spec).map(([field, condition]) => {
    if (typeof condition !== 'object' || condition === null) return (row: Row) => fieldValue(row, field) === condition;
    const ops = Object.entries(condition as Condition).map(([op, operand]) => {
      const compare = OPERATORS[op];
      if (!compare) throw new BadQuery(`where: unsupported operator ${op}`);
      return (row: Row) => compare(fieldValue(row, field) as never, operand as never);
    });
    return (row: Row) => ops.every((test) => test(row));
  });
  return (row) => tests.every((test) => test(row));
}

function comparatorOf(sort: string): (a: Row, b: Row) => number {
  const keys = sort
    .split(',')
    .map((part) => (part.startsWith('-') ? { field: part.slice(1), direction: -1 } : { field: part, direction: 1 }));
  return (a, b) => {
    for (const { field, direction } of keys) {
      const x = fieldValue(a, field) as string | number,
        y = fieldValue(b, field) as string | number;
      if (x !== y) return (x < y ? -1 : 1) * direction;
    }
    return 0;
  };
}

const toInt = (text: string | undefined, fallback: number) => {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const link = (title: string, href: string): Link => ({ title, href });
const HOME = link('home', '/');

function hrefOf(query: PageQuery, maxResults: number, page: number): string {
  const parts: string[] = [];
  if (maxResults !== 25) parts.push(`max_results=${maxResults}`);
  if (query.where) parts.push(`where=${query.where}`);
  if (query.sort) parts.push(`sort=${query.sort}`);
  if (page > 1) parts.push(`page=${page}`);
  return parts.length ? `tickets?${parts.join('&')}` : 'tickets';
}

export const collectionItem = (row: Row): CollectionItem => ({
  customer: row.customer,
  status: row.status,
  product: row.product,
  _id: row._id,
  _updated: row._updated,
  _created: row._created,
  _etag: row._etag,
  _links: { self: link('Ticket', `tickets/${row._id}`) },
});

/** GET /tickets: select, order and slice the rows, then build the page's objects. */
export function buildPage(rows: readonly Row[], query: PageQuery): Page {
  const maxResults = Math.min(toInt(query.max_results, 25), 50);
  const page = toInt(query.page, 1);
  let selected = query.where ? rows.filter(filterOf(query.where)) : rows;
  if (query.sort) selected = [...selected].sort(comparatorOf(query.sort));
  const total = selected.length;
  const links: Page['_links'] = {
    parent: HOME,
    self: link('tickets', total > 0 ? hrefOf(query, maxResults, page) : 'tickets'),
  };
  if (page * maxResults < total) {
    links.next = link('next page', hrefOf(query, maxResults, page + 1));
    links.last = link('last page', hrefOf(query, maxResults, Math.ceil(total / maxResults)));
  }
  if (total > 0 && page > 1) links.prev = link('previous page', hrefOf(query, maxResults, page - 1));
  return {
    _items: selected.slice((page - 1) * maxResults, page * maxResults).map(collectionItem),
    _links: links,
    _meta: { page, max_results: maxResults, total },
  };
}

/** GET /tickets/{id}. */
export const buildItem = (row: Row) => ({
  ...collectionItem(row),
  _links: { self: link('Ticket', `tickets/${row._id}`), parent: HOME, collection: link('tickets', 'tickets') },
});

const linkSchema = { type: 'object', properties: { title: { type: 'string' }, href: { type: 'string' } } } as const;
const ticketProperties = {
  customer: { type: 'string' },
  status: { type: 'string' },
  product: { type: 'string' },
  _id: { type: 'string' },
  _updated: { type: 'string' },
  _created: { type: 'string' },
  _etag: { type: 'string' },
} as const;
const linksSchema = (...names: string[]) => ({
  type: 'object' as const,
  properties: Object.fromEntries(names.map((n) => [n, linkSchema])),
});

export const pageSchema = {
  type: 'object',
  properties: {
    _items: {
      type: 'array',
      items: { type: 'object', properties: { ...ticketProperties, _links: linksSchema('self') } },
    },
    // Properties are written in schema order: Eve's order.
    _links: linksSchema('parent', 'self', 'next', 'last', 'prev'),
    _meta: {
      type: 'object',
      properties: { page: { type: 'integer' }, max_results: { type: 'integer' }, total: { type: 'integer' } },
    },
  },
} as const;

export const itemSchema = {
  type: 'object',
  properties: { ...ticketProperties, _links: linksSchema('self', 'parent', 'collection') },
} as const;
