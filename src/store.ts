// Answers Eve's reads from the dataset: the hot path, with no web framework in
// it, so it is tested and benchmarked on its own. Everything a response depends
// on is in its URL, so whole bodies are cached by URL (from a URL's second
// request on). Filters and sorts are answered from indexes (indexes.ts,
// planner.ts); combined filters' results are cached by their normalized text.
import { hash } from 'node:crypto';
import { type Dataset, etagAt, findById } from './dataset.ts';
import { Indexes } from './indexes.ts';
import { Doorkeeper, LruCache } from './lru.ts';
import { pageOf } from './pages.ts';
import { Planner } from './planner.ts';
import { parseListQuery, type SortKey } from './query.ts';
import { collectionBody, Fragments, itemBody, lastModified, prettify } from './serialize.ts';
import type { Matches } from './ticket-sets.ts';
import { conditionOf } from './where/conditions.ts';
import type { Where } from './where/parse.ts';

export interface Representation {
  /**
   * Text while the answer is one-off; bytes once it is cached and sent again
   * and again. A one-off 10 KB Buffer costs more in garbage collection (its
   * memory lives outside the heap) than writing the text costs.
   */
  body: string | Buffer;
  /** Quoted, ready for the ETag header. */
  etag: string;
  lastModified: string | undefined;
  /** Epoch seconds of `_updated`, for If-Modified-Since on items. */
  modified?: number;
  /** Collections only: every match, not just this page. */
  total?: number;
}

export interface StoreOptions {
  /** Bytes of response bodies kept for repeated URLs (the benchmark sets 0 to time misses). */
  responseCacheBytes?: number;
  /** The dataset's indexes, built beforehand (`Indexes.build`); built here otherwise. */
  indexes?: Indexes;
}

export interface Selection {
  /** Every match, not just this page. */
  total: number;
  /** Ticket indexes of the page, in order. */
  page: number[];
}

/** Datasets up to this size keep every ticket's JSON text. */
const FRAGMENT_MEMO_LIMIT = 200_000;

/** A ticket id: a lowercase UUID. Anything else is no ticket. */
export const ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const UUID = new RegExp(ID_PATTERN);

/** A request target's path and raw query string (without the `?`). */
export function splitTarget(url: string): { path: string; queryString: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, queryString: '' } : { path: url.slice(0, q), queryString: url.slice(q + 1) };
}

/** The validator headers of an answer, sent with its 200 and its 304 alike. */
export function validatorHeaders(rep: Representation): [string, string][] {
  const headers: [string, string][] = [['etag', rep.etag]];
  if (rep.lastModified !== undefined) headers.push(['last-modified', rep.lastModified]);
  if (rep.total !== undefined) headers.push(['x-total-count', String(rep.total)]);
  return headers;
}

const collectionKey = (queryString: string) => `?${queryString}`;
const itemKey = (id: string, queryString: string) => `${id}?${queryString}`;

export class Store {
  readonly fragments: Fragments;
  readonly #responses: LruCache<Representation>;
  readonly indexes: Indexes;
  readonly planner: Planner;
  readonly #matches: LruCache<Matches & { kind: 'bits' }>;
  readonly #doorkeeper = new Doorkeeper();

  constructor(
    readonly data: Dataset,
    options: StoreOptions = {},
  ) {
    this.fragments = new Fragments(data, FRAGMENT_MEMO_LIMIT);
    this.indexes = options.indexes ?? new Indexes(data);
    this.planner = new Planner(this.indexes);
    this.#responses = new LruCache(
      options.responseCacheBytes ?? 16 * 1024 * 1024,
      (r) => Buffer.byteLength(r.body) + 150,
    );
    // Room for 128 filters' bitmaps at any size, and far more on small datasets.
    this.#matches = new LruCache(Math.max(8 * 1024 * 1024, data.count * 16), (m) => m.words.byteLength);
  }

  /** GET /tickets with this raw query string. Throws HttpError on a bad parameter. */
  collection(queryString: string): Representation {
    const key = collectionKey(queryString);
    const cached = this.#responses.get(key);
    if (cached) return cached;
    const query = parseListQuery(queryString);
    const { total, page } = this.select(query.where, query.sort, (query.page - 1) * query.maxResults, query.maxResults);
    const items: string[] = [];
    for (const i of page) {
      items.push(query.projection ? this.fragments.projected(i, query.projection) : this.fragments.listed(i));
    }
    let text = collectionBody(items, query, total);
    if (query.pretty) text = prettify(text);
    const rep: Representation = {
      body: text,
      etag: `"${hash('sha1', text)}"`,
      lastModified: lastModified(this.data, page),
      total,
    };
    this.#remember(key, rep);
    return rep;
  }

  /** GET /tickets/{id}: undefined when there is no such ticket. */
  item(id: string, queryString: string): Representation | undefined {
    const key = itemKey(id, queryString);
    const cached = this.#responses.get(key);
    if (cached) return cached;
    const index = UUID.test(id) ? findById(this.data, id) : -1;
    if (index < 0) return undefined;
    const query = parseListQuery(queryString);
    // An item ignores `where`, but a bad one is refused exactly as on the collection.
    if (query.where) conditionOf(this.data, query.where);
    const fields = query.projection
      ? this.fragments.projectedFields(index, query.projection)
      : this.fragments.fields(index);
    let text = itemBody(fields, id, query);
    if (query.pretty) text = prettify(text);
    const rep: Representation = {
      body: text,
      etag: `"${etagAt(this.data, index)}"`,
      lastModified: lastModified(this.data, [index]),
      modified: this.data.updated[index]!,
    };
    this.#remember(key, rep);
    return rep;
  }

  /** An answer is cached from the second time its URL is asked for. */
  #remember(key: string, rep: Representation): void {
    if (!this.#doorkeeper.admit(key)) return;
    rep.body = Buffer.from(rep.body);
    this.#responses.set(key, rep);
  }

  /**
   * How many tickets match, and those at [skip, skip + take) in the requested
   * order (ties in dataset order).
   */
  select(where: Where | undefined, sort: readonly SortKey[], skip: number, take: number): Selection {
    // A field no ticket has sorts as missing everywhere: it cannot reorder anything.
    const keys = sort.filter((k) => this.indexes.of(k.field) !== undefined);
    const matches = where ? this.#matching(where) : { kind: 'all' as const, count: this.data.count };
    return { total: matches.count, page: pageOf(this.indexes, matches, keys, skip, take) };
  }

  #matching(where: Where): Matches {
    const cached = this.#matches.get(where.key);
    if (cached) return cached;
    const matches = this.planner.evaluate(conditionOf(this.data, where));
    // Runs of an index cost nothing to find again; only combined results are worth keeping.
    if (matches.kind === 'bits' && this.#doorkeeper.admit(`\u0000${where.key}`)) this.#matches.set(where.key, matches);
    return matches;
  }
}
