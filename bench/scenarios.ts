// The five request mixes, stated once and aimed at any of the servers.
import { STATUSES } from '../src/dataset.ts';

export type ScenarioId = 'a' | 'b' | 'c' | 'd' | 'e';

/** What a scenario needs to know about the server it loads. */
export interface TargetInfo {
  /** The ETag this server gives GET /tickets. */
  etag: string;
  /** Ticket ids, fetched from the real server. */
  ids: readonly string[];
}

export interface LoadRequest {
  path: string;
  headers?: Record<string, string>;
  /**
   * Paths for one connection, which sends them in order and then from the start
   * again; `needed` is how many it may send. Built before the timed run:
   * autocannon's per-request `setupRequest` would cost the load generator about
   * a sixth of its throughput, and lower the ceiling with it.
   */
  connectionPaths?: (needed: number) => string[];
  /** A path sent twice would be answered from a cache, which this scenario must not measure. */
  unique?: boolean;
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  /** A few words for the chart. */
  label: string;
  /** Statuses that count as success; anything else is an error of the scenario. */
  expects: (status: number) => boolean;
  request: (target: TargetInfo) => LoadRequest;
}

const ok = (status: number) => status >= 200 && status < 300;

// Bodies are cached by URL and filter results by their canonical `where`, so a
// counter inside the `where` value misses both; sort and page rotate on other
// moduli so that each request also differs in shape, not only in a digit.
const SORTS = ['customer', '-customer', '-_updated', 'status,-_created', 'product'];
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
let counter = 0;

/** Consecutive uncacheable queries that cover every sort order they use. */
export const UNCACHEABLE_SHAPES = SORTS.length;

export function uncacheableQuery(n = counter++): string {
  const bound = `${LETTERS[n % LETTERS.length]}${n}`;
  const where =
    n % 2 === 0 ? { customer: { $gte: bound } } : { status: STATUSES[n % STATUSES.length], customer: { $lt: bound } };
  return `where=${encodeURIComponent(JSON.stringify(where))}&sort=${SORTS[n % SORTS.length]}&page=${1 + (n % 3)}`;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'a', title: 'GET /tickets', label: '/tickets', expects: ok, request: () => ({ path: '/tickets' }) },
  {
    id: 'b',
    title: 'GET /tickets?max_results=50&page=2',
    label: '50 items, page 2',
    expects: ok,
    request: () => ({ path: '/tickets?max_results=50&page=2' }),
  },
  {
    id: 'c',
    title: 'uncacheable query (where/sort/page)',
    label: 'uncacheable query',
    expects: ok,
    request: () => ({
      path: '/tickets',
      connectionPaths: (needed) => Array.from({ length: needed }, () => `/tickets?${uncacheableQuery()}`),
      unique: true,
    }),
  },
  {
    id: 'd',
    title: 'GET /tickets/{id}, random ids',
    label: '/tickets/{id}',
    expects: ok,
    request: ({ ids }) => ({
      path: '/tickets',
      connectionPaths: () =>
        Array.from({ length: 1024 }, () => `/tickets/${ids[Math.floor(Math.random() * ids.length)]}`),
    }),
  },
  {
    id: 'e',
    title: 'GET /tickets, If-None-Match (304)',
    label: 'If-None-Match, 304',
    // The ceiling ignores validators and answers 200: both are success here.
    expects: (status) => ok(status) || status === 304,
    request: ({ etag }) => ({ path: '/tickets', headers: { 'if-none-match': etag } }),
  },
];
