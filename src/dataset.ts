// The tickets, generated once at start from a fixed seed. Stored by column so a
// million tickets fit in a few hundred megabytes: repeated strings are shared,
// ids and ETags are raw bytes, dates are seconds.
import { createHash } from 'node:crypto';
// The English-only entry point: the package's main one loads every locale (30 MB more).
import { faker } from '@faker-js/faker/locale/en';
import { formatHttpDate } from './dates.ts';

export const STATUSES = ['Open', 'Pending', 'In Progress', 'Resolved', 'Closed'] as const;

/** The served fields of a ticket, in Eve's key order (`_links` is added by the serializer). */
export const FIELDS = ['customer', 'status', 'product', '_id', '_updated', '_created', '_etag'] as const;
export type Field = (typeof FIELDS)[number];

// The dates hang off a fixed reference, never the wall clock, so every process
// with the same seed serves the same bytes.
const REFERENCE = Date.UTC(2024, 0, 1) / 1000;
const SPAN = 2 * 365 * 86400;

/** Values drawn from a short list: ticket i's is `values[codes[i]]`. */
export interface Coded {
  readonly codes: Uint8Array | Uint32Array;
  readonly values: readonly string[];
}

export interface Dataset {
  readonly count: number;
  /** Served (formatted) customer names; tickets of one customer share the string. */
  readonly customers: readonly string[];
  /** The same names as `where` and `sort` compare them (`customerKey`). */
  readonly customerKeys: Coded;
  readonly products: readonly string[];
  /** The same products, coded: an index sorts the few thousand names, not a name per ticket. */
  readonly productCodes: Coded;
  readonly statuses: Uint8Array;
  readonly created: Uint32Array;
  readonly updated: Uint32Array;
  /** 16 bytes a ticket. */
  readonly ids: Buffer;
  /**
   * 20 bytes a ticket: SHA-1 of the ticket as served, computed on first use
   * (`etagKnown`), so a million tickets start in a second rather than three.
   */
  readonly etags: Buffer;
  readonly etagKnown: Uint8Array;
  /** Open-addressing hash of ids to ticket index + 1 (0 is empty). */
  readonly idTable: Uint32Array;
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

/** A ticket id: a lowercase UUID. Anything else is no ticket. */
export const ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function idAt(data: Dataset, index: number): string {
  const b = data.ids,
    o = index * 16;
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[o + i]!];
  }
  return s;
}

function computeEtag(data: Dataset, index: number): void {
  createHash('sha1')
    .update(`${ticketHead(data, index)}}`)
    .digest()
    .copy(data.etags, index * 20);
  data.etagKnown[index] = 1;
}

export function etagAt(data: Dataset, index: number): string {
  if (!data.etagKnown[index]) computeEtag(data, index);
  return data.etags.toString('hex', index * 20, index * 20 + 20);
}

/** Every ticket's ETag bytes, computing those not yet known. */
function allEtags(data: Dataset): Buffer {
  for (let i = 0; i < data.count; i++) if (!data.etagKnown[i]) computeEtag(data, i);
  return data.etags;
}

export function statusAt(data: Dataset, index: number): string {
  return STATUSES[data.statuses[index]!]!;
}

/** The JSON members of a ticket before `_etag`: what the ETag hashes. */
export function ticketHead(data: Dataset, index: number): string {
  return (
    `{"customer":${JSON.stringify(data.customers[index])},"status":${JSON.stringify(statusAt(data, index))},` +
    `"product":${JSON.stringify(data.products[index])},"_id":"${idAt(data, index)}",` +
    `"_updated":"${formatHttpDate(data.updated[index]!)}","_created":"${formatHttpDate(data.created[index]!)}"`
  );
}

/**
 * Customer names compare in lower case (locale-independent, then by code
 * point): the versions format them differently only in case, so every
 * filter and sort selects the same tickets in the same order on each.
 */
const customerKey = (name: string): string => name.toLowerCase();

export interface Column {
  /** Dates compare as epoch seconds, everything else as text. */
  kind: 'string' | 'date';
  /** The value as `where` and `sort` compare it. */
  get: (index: number) => string | number;
  /** What a string operand becomes before it is compared with `get`'s values; as is when absent. */
  fold?: (operand: string) => string;
  /** The column as an index reads it, without building a value per ticket. */
  encoding:
    | { kind: 'coded'; coded: Coded }
    | { kind: 'seconds'; values: Uint32Array }
    /** Text that spells fixed-width bytes in lowercase hex (ids, ETags): the bytes sort as the text does. */
    | { kind: 'hex'; read: () => Buffer; width: number };
}

const STATUS_CODES = (data: Dataset): Coded => ({ codes: data.statuses, values: STATUSES });

/** How to read one served field of any ticket; undefined for a field tickets lack. */
export function columnOf(data: Dataset, field: string): Column | undefined {
  switch (field) {
    case 'customer': {
      const { codes, values } = data.customerKeys;
      return {
        kind: 'string',
        get: (i) => values[codes[i]!]!,
        fold: customerKey,
        encoding: { kind: 'coded', coded: data.customerKeys },
      };
    }
    case 'product':
      return { kind: 'string', get: (i) => data.products[i]!, encoding: { kind: 'coded', coded: data.productCodes } };
    case 'status':
      return { kind: 'string', get: (i) => statusAt(data, i), encoding: { kind: 'coded', coded: STATUS_CODES(data) } };
    case '_id':
      return { kind: 'string', get: (i) => idAt(data, i), encoding: { kind: 'hex', read: () => data.ids, width: 16 } };
    case '_etag':
      return {
        kind: 'string',
        get: (i) => etagAt(data, i),
        encoding: { kind: 'hex', read: () => allEtags(data), width: 20 },
      };
    case '_created':
      return { kind: 'date', get: (i) => data.created[i]!, encoding: { kind: 'seconds', values: data.created } };
    case '_updated':
      return { kind: 'date', get: (i) => data.updated[i]!, encoding: { kind: 'seconds', values: data.updated } };
    default:
      return undefined;
  }
}

// UUID v4 bytes are random, so their first four make a good hash.
const slotOf = (ids: Buffer, offset: number, mask: number) => ids.readUInt32BE(offset) & mask;

function indexIds(ids: Buffer, count: number): Uint32Array {
  let size = 1;
  while (size < count * 2) size *= 2;
  const table = new Uint32Array(size);
  const mask = size - 1;
  for (let i = 0; i < count; i++) {
    let slot = slotOf(ids, i * 16, mask);
    while (table[slot] !== 0) slot = (slot + 1) & mask;
    table[slot] = i + 1;
  }
  return table;
}

/** Ticket index for a lowercase UUID, or -1. */
export function findById(data: Dataset, id: string): number {
  const key = Buffer.from(id.replaceAll('-', ''), 'hex');
  if (key.length !== 16) return -1;
  const mask = data.idTable.length - 1;
  for (let slot = slotOf(key, 0, mask); data.idTable[slot] !== 0; slot = (slot + 1) & mask) {
    const index = data.idTable[slot]! - 1;
    if (key.equals(data.ids.subarray(index * 16, index * 16 + 16))) return index;
  }
  return -1;
}

/** Customers and products come from pools, as real tickets repeat them. */
const CUSTOMER_POOL = 20_000;
const PRODUCT_POOL = 5_000;

/**
 * faker.number.int({ max }) without its per-call cost (reading options,
 * checking them, a closure), which is a third of drawing the ten numbers a
 * ticket takes: the same draw from the same generator, so the same numbers.
 * faker hands its generator to a `distributor`, the documented way to shape
 * its draws; this one keeps it.
 */
function uniformInts(): (max: number) => number {
  let randomizer: { next: () => number } | undefined;
  faker.number.int({
    max: 1,
    distributor: (r) => {
      randomizer = r;
      return 0;
    },
  });
  const { next } = randomizer!;
  // As faker does: no draw at all when only one value is possible.
  return (max) => (max === 0 ? 0 : Math.floor(next() * (max + 1)));
}

export function generateDataset(count: number, seed: number, formatCustomer: (raw: string) => string): Dataset {
  // Seeded here and used synchronously to the end, so the shared instance is as good as our own.
  faker.seed(seed);
  faker.setDefaultRefDate(REFERENCE * 1000);
  const int = uniformInts();
  // Formatting a name once serves every ticket of that customer; two raw names
  // that format alike (they differ only in case) share one string too.
  const formatted = interner();
  const customerPool = Array.from({ length: Math.min(count, CUSTOMER_POOL) }, () =>
    formatted(formatCustomer(faker.company.name())),
  );
  const productPool = Array.from({ length: Math.min(count, PRODUCT_POOL) }, () => faker.commerce.productName());
  const customers = new Array<string>(count);
  const customerCodes = new Uint32Array(count);
  const products = new Array<string>(count);
  const productCodes = new Uint32Array(count);
  const statuses = new Uint8Array(count);
  const created = new Uint32Array(count);
  const updated = new Uint32Array(count);
  const ids = Buffer.alloc(count * 16);
  // Big-endian, as Buffer#writeUInt32BE writes, without its checks on every word.
  const idWords = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
  for (let i = 0; i < count; i++) {
    customerCodes[i] = int(customerPool.length - 1);
    customers[i] = customerPool[customerCodes[i]!]!;
    productCodes[i] = int(productPool.length - 1);
    products[i] = productPool[productCodes[i]!]!;
    statuses[i] = int(STATUSES.length - 1);
    // A version 4 UUID from faker's generator, without building its text.
    for (let w = 0; w < 4; w++) idWords.setUint32(i * 16 + w * 4, int(0xffffffff));
    ids[i * 16 + 6] = (ids[i * 16 + 6]! & 0x0f) | 0x40;
    ids[i * 16 + 8] = (ids[i * 16 + 8]! & 0x3f) | 0x80;
    const c = REFERENCE - SPAN + int(SPAN);
    created[i] = c;
    updated[i] = c + int(REFERENCE - c);
  }
  return {
    count,
    customers,
    customerKeys: { codes: customerCodes, values: customerPool.map(customerKey) },
    products,
    productCodes: { codes: productCodes, values: productPool },
    statuses,
    created,
    updated,
    ids,
    etags: Buffer.alloc(count * 20),
    etagKnown: new Uint8Array(count),
    idTable: indexIds(ids, count),
  };
}
