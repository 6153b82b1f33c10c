// Answers Eve's reads from the dataset: the hot path, with no web framework in
// it, so it is tested and benchmarked on its own. It puts the other hot-path
// modules together: the query parsed (query.ts), filters and sorts answered
// from indexes (select/), the body written (fragments.ts, serialize.ts), and
// both kept in caches (store-caches.ts). Everything a response depends on is in
// its URL, so whole answers are cached by URL; combined filters' results by
// their normalized text.
import { hash } from 'node:crypto';
import { type Dataset, etagAt, findById, ID_PATTERN } from './dataset.ts';
import { Fragments } from './fragments.ts';
import { parseListQuery, type SortKey } from './query.ts';
import type { Representation } from './representation.ts';
import { Indexes } from './select/indexes.ts';
import { pageOf } from './select/pages.ts';
import { Planner } from './select/planner.ts';
import type { Matches } from './select/ticket-sets.ts';
import { collectionBody, itemBody, lastModified, prettify } from './serialize.ts';
import { StoreCaches } from './store-caches.ts';
import { conditionOf } from './where/conditions.ts';
import type { Where } from './where/parse.ts';

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

const UUID = new RegExp(ID_PATTERN);
const collectionKey = (queryString: string) => `?${queryString}`;
const itemKey = (id: string, queryString: string) => `${id}?${queryString}`;

export class Store {
  readonly fragments: Fragments;
  readonly indexes: Indexes;
  readonly planner: Planner;
  readonly #caches: StoreCaches;

  constructor(
    readonly data: Dataset,
    options: StoreOptions = {},
  ) {
    this.fragments = new Fragments(data, FRAGMENT_MEMO_LIMIT);
    this.indexes = options.indexes ?? new Indexes(data);
    this.planner = new Planner(this.indexes);
    this.#caches = new StoreCaches(data.count, options.responseCacheBytes);
  }

  /** GET /tickets with this raw query string. Throws HttpError on a bad parameter. */
  collection(queryString: string): Representation {
    const key = collectionKey(queryString);
    const cached = this.#caches.answer(key);
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
    this.#caches.rememberAnswer(key, rep);
    return rep;
  }

  /** GET /tickets/{id}: undefined when there is no such ticket. */
  item(id: string, queryString: string): Representation | undefined {
    const key = itemKey(id, queryString);
    const cached = this.#caches.answer(key);
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
    this.#caches.rememberAnswer(key, rep);
    return rep;
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
    const cached = this.#caches.matches(where.key);
    if (cached) return cached;
    const matches = this.planner.evaluate(conditionOf(this.data, where));
    this.#caches.rememberMatches(where.key, matches);
    return matches;
  }
}
