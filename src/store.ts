// Answers Eve's reads from the dataset: the hot path, with no web framework in
// it, so it is tested and benchmarked on its own. Everything a response depends
// on is in its URL, so whole bodies are cached by URL (from a URL's second
// request on); filtered and sorted index lists are cached by their normalized
// query, and sort orders are computed once.
import { createHash } from 'node:crypto';
import { columnOf, type Dataset, etagAt, findById } from './dataset.ts';
import { Doorkeeper, LruCache } from './lru.ts';
import { parseListQuery, type SortKey } from './query.ts';
import { collectionBody, Fragments, itemBody, lastModified, prettify } from './serialize.ts';
import { compareCodePoints } from './strings.ts';
import { compileWhere, type Where } from './where.ts';

/** The paths this store answers, as Fastify routes and metric labels name them. */
export const COLLECTION_PATH = '/tickets';
export const ITEM_PATH = '/tickets/:_id';

export interface Representation {
  path: typeof COLLECTION_PATH | typeof ITEM_PATH;
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
  /** Bytes of response bodies kept for repeated URLs. */
  responseCacheBytes?: number;
  /** Bytes of ticket indexes kept for repeated filters and sorts. */
  matchCacheBytes?: number;
  /** Datasets up to this size keep every ticket's JSON text. */
  fragmentMemoLimit?: number;
}

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

type Ranks = Uint32Array;

const ITEM_PATH_LENGTH = '/tickets/'.length + 36;
const collectionKey = (queryString: string) => `?${queryString}`;
const itemKey = (id: string, queryString: string) => `${id}?${queryString}`;

export class Store {
  readonly fragments: Fragments;
  readonly #responses: LruCache<Representation>;
  readonly #matches: LruCache<Uint32Array>;
  readonly #ranks = new Map<string, Ranks>();
  readonly #doorkeeper = new Doorkeeper();
  #datasetOrder: Uint32Array | undefined;

  constructor(
    readonly data: Dataset,
    options: StoreOptions = {},
  ) {
    this.fragments = new Fragments(data, options.fragmentMemoLimit ?? 200_000);
    this.#responses = new LruCache(
      options.responseCacheBytes ?? 16 * 1024 * 1024,
      (r) => Buffer.byteLength(r.body) + 150,
    );
    // Room for a few full orders of the dataset (4 bytes a ticket) besides the filters.
    this.#matches = new LruCache(
      options.matchCacheBytes ?? Math.max(8 * 1024 * 1024, data.count * 16),
      (m) => m.byteLength,
    );
  }

  /**
   * The cached answer for a request target, without computing anything: the
   * whole cost of a repeated request. Paths as the routes accept them
   * (`/tickets`, `/tickets/{_id}`, each with an optional trailing slash).
   */
  cached(url: string): Representation | undefined {
    const { path: target, queryString } = splitTarget(url);
    const path = target.endsWith('/') ? target.slice(0, -1) : target;
    if (path === COLLECTION_PATH) return this.#responses.get(collectionKey(queryString));
    if (path.length === ITEM_PATH_LENGTH && path.startsWith('/tickets/'))
      return this.#responses.get(itemKey(path.slice(9), queryString));
    return undefined;
  }

  /** GET /tickets with this raw query string. Throws HttpError on a bad parameter. */
  collection(queryString: string): Representation {
    const key = collectionKey(queryString);
    const cached = this.#responses.get(key);
    if (cached) return cached;
    const query = parseListQuery(queryString);
    const matches = this.matches(query.where, query.sort);
    const start = (query.page - 1) * query.maxResults;
    const page = matches.subarray(Math.min(start, matches.length), Math.min(start + query.maxResults, matches.length));
    const items: string[] = [];
    for (const i of page) {
      items.push(query.projection ? this.fragments.projected(i, query.projection) : this.fragments.listed(i));
    }
    let text = collectionBody(items, query, matches.length);
    if (query.pretty) text = prettify(text);
    const rep: Representation = {
      path: COLLECTION_PATH,
      body: text,
      etag: `"${createHash('sha1').update(text).digest('hex')}"`,
      lastModified: lastModified(this.data, page),
      total: matches.length,
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
    if (query.where) compileWhere(this.data, query.where);
    const fields = query.projection
      ? this.fragments.projectedFields(index, query.projection)
      : this.fragments.fields(index);
    let text = itemBody(fields, id, query);
    if (query.pretty) text = prettify(text);
    const rep: Representation = {
      path: ITEM_PATH,
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

  /** Indexes of the matching tickets, in the requested order. */
  matches(where: Where | undefined, sort: SortKey[]): Uint32Array {
    // A field no ticket has sorts as missing everywhere: it cannot reorder anything.
    const keys = sort.filter((k) => columnOf(this.data, k.field) !== undefined);
    const ordered = this.#sorted(keys);
    if (!where) return ordered;
    const cacheKey = `${where.key}\u0000${keys.map((k) => `${k.field}:${k.direction}`).join(',')}`;
    const cached = this.#matches.get(cacheKey);
    if (cached) return cached;
    const predicate = compileWhere(this.data, where);
    const hits: number[] = [];
    for (const i of ordered) if (predicate(i)) hits.push(i);
    const result = Uint32Array.from(hits);
    if (this.#doorkeeper.admit(cacheKey)) this.#matches.set(cacheKey, result);
    return result;
  }

  #identity(): Uint32Array {
    if (!this.#datasetOrder) {
      this.#datasetOrder = new Uint32Array(this.data.count);
      for (let i = 0; i < this.data.count; i++) this.#datasetOrder[i] = i;
    }
    return this.#datasetOrder;
  }

  #sorted(keys: SortKey[]): Uint32Array {
    if (keys.length === 0) return this.#identity();
    const cacheKey = `\u0000${keys.map((k) => `${k.field}:${k.direction}`).join(',')}`;
    const cached = this.#matches.get(cacheKey);
    if (cached) return cached;
    const columns = keys.map((k) => ({ ranks: this.#ranksOf(k.field), direction: k.direction }));
    const order = this.#identity().slice();
    // Ties keep dataset order: the index itself is the last key.
    order.sort((a, b) => {
      for (const { ranks, direction } of columns) {
        const d = ranks[a]! - ranks[b]!;
        if (d !== 0) return d * direction;
      }
      return a - b;
    });
    this.#matches.set(cacheKey, order);
    return order;
  }

  /** Each ticket's position when sorted by the field alone; equal values share a rank. */
  #ranksOf(field: string): Ranks {
    let ranks = this.#ranks.get(field);
    if (ranks) return ranks;
    const { get } = columnOf(this.data, field)!;
    const compare = (a: number, b: number) => {
      const x = get(a),
        y = get(b);
      return typeof x === 'number' ? x - (y as number) : compareCodePoints(x, y as string);
    };
    const order = this.#identity().slice().sort(compare);
    ranks = new Uint32Array(this.data.count);
    let rank = 0;
    for (let k = 0; k < order.length; k++) {
      if (k > 0 && compare(order[k - 1]!, order[k]!) !== 0) rank = k;
      ranks[order[k]!] = rank;
    }
    this.#ranks.set(field, ranks);
    return ranks;
  }
}
