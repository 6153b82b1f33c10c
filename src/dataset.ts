// The tickets, generated once at start from a fixed seed. Stored by column so a
// million tickets fit in a few hundred megabytes: repeated strings are shared,
// ids and ETags are raw bytes, dates are seconds.
import { createHash } from 'node:crypto';
import { Faker, en } from '@faker-js/faker';
import { formatHttpDate } from './dates.ts';

export const STATUSES = ['Open', 'Pending', 'In Progress', 'Resolved', 'Closed'] as const;

/** The served fields of a ticket, in Eve's key order (`_links` is added by the serializer). */
export const FIELDS = ['customer', 'status', 'product', '_id', '_updated', '_created', '_etag'] as const;
export type Field = (typeof FIELDS)[number];
export const DATE_FIELDS: ReadonlySet<string> = new Set<Field>(['_updated', '_created']);

// The dates hang off a fixed reference, never the wall clock, so every process
// with the same seed serves the same bytes.
const REFERENCE = Date.UTC(2024, 0, 1) / 1000;
const SPAN = 2 * 365 * 86400;

export interface Dataset {
  readonly count: number;
  readonly customers: readonly string[];
  readonly products: readonly string[];
  readonly statuses: Uint8Array;
  readonly created: Uint32Array;
  readonly updated: Uint32Array;
  /** 16 bytes a ticket. */
  readonly ids: Buffer;
  /** 20 bytes a ticket: SHA-1 of the ticket as served. */
  readonly etags: Buffer;
  /** Ticket indexes ordered by id bytes, for binary search. */
  readonly idOrder: Uint32Array;
}

function interner(): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const known = seen.get(s);
    if (known !== undefined) return known;
    seen.set(s, s);
    return s;
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function idAt(data: Dataset, index: number): string {
  const b = data.ids, o = index * 16;
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[o + i]!];
  }
  return s;
}

export function etagAt(data: Dataset, index: number): string {
  return data.etags.toString('hex', index * 20, index * 20 + 20);
}

export function statusAt(data: Dataset, index: number): string {
  return STATUSES[data.statuses[index]!]!;
}

/** The JSON members of a ticket before `_etag`: what the ETag hashes. */
export function ticketHead(data: Dataset, index: number): string {
  return `{"customer":${JSON.stringify(data.customers[index])},"status":${JSON.stringify(statusAt(data, index))},`
    + `"product":${JSON.stringify(data.products[index])},"_id":"${idAt(data, index)}",`
    + `"_updated":"${formatHttpDate(data.updated[index]!)}","_created":"${formatHttpDate(data.created[index]!)}"`;
}

export interface Column {
  /** Dates compare as epoch seconds, everything else as text. */
  kind: 'string' | 'date';
  get: (index: number) => string | number;
}

/** How to read one served field of any ticket; undefined for a field tickets lack. */
export function columnOf(data: Dataset, field: string): Column | undefined {
  switch (field) {
    case 'customer': return { kind: 'string', get: (i) => data.customers[i]! };
    case 'product': return { kind: 'string', get: (i) => data.products[i]! };
    case 'status': return { kind: 'string', get: (i) => statusAt(data, i) };
    case '_id': return { kind: 'string', get: (i) => idAt(data, i) };
    case '_etag': return { kind: 'string', get: (i) => etagAt(data, i) };
    case '_created': return { kind: 'date', get: (i) => data.created[i]! };
    case '_updated': return { kind: 'date', get: (i) => data.updated[i]! };
    default: return undefined;
  }
}

/** Ticket index for a lowercase UUID, or -1. */
export function findById(data: Dataset, id: string): number {
  const key = Buffer.from(id.replaceAll('-', ''), 'hex');
  if (key.length !== 16) return -1;
  let lo = 0, hi = data.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const index = data.idOrder[mid]!;
    // Buffer#compare orders the receiver's range against the target's.
    const c = data.ids.compare(key, 0, 16, index * 16, index * 16 + 16);
    if (c === 0) return index;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

export function generateDataset(count: number, seed: number, formatCustomer: (raw: string) => string): Dataset {
  const faker = new Faker({ locale: [en] });
  faker.seed(seed);
  faker.setDefaultRefDate(REFERENCE * 1000);
  const customerOf = new Map<string, string>();
  const product = interner();
  const customers = new Array<string>(count);
  const products = new Array<string>(count);
  const statuses = new Uint8Array(count);
  const created = new Uint32Array(count);
  const updated = new Uint32Array(count);
  const ids = Buffer.alloc(count * 16);
  for (let i = 0; i < count; i++) {
    const raw = faker.company.name();
    let customer = customerOf.get(raw);
    if (customer === undefined) {
      customer = formatCustomer(raw);
      customerOf.set(raw, customer);
    }
    customers[i] = customer;
    statuses[i] = faker.number.int({ max: STATUSES.length - 1 });
    products[i] = product(faker.commerce.productName());
    ids.write(faker.string.uuid().replaceAll('-', ''), i * 16, 'hex');
    const c = REFERENCE - SPAN + faker.number.int({ max: SPAN });
    created[i] = c;
    updated[i] = c + faker.number.int({ max: REFERENCE - c });
  }
  const idOrder = new Uint32Array(count);
  for (let i = 0; i < count; i++) idOrder[i] = i;
  idOrder.sort((a, b) => ids.compare(ids, b * 16, b * 16 + 16, a * 16, a * 16 + 16));
  const data: Dataset = { count, customers, products, statuses, created, updated, ids, etags: Buffer.alloc(count * 20), idOrder };
  for (let i = 0; i < count; i++) {
    createHash('sha1').update(ticketHead(data, i) + '}').digest().copy(data.etags, i * 20);
  }
  return data;
}
