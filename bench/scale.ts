// How the real server's costs move with TICKET_COUNT: time to ready, memory,
// single-request latencies, first (cold) and repeated, and `where` queries of
// each kind the server has never seen. An unfiltered page must cost the same
// at any size; a filter, within a small factor (indexes, not scans).
import http from 'node:http';
import { milliseconds } from '../src/cli/render.ts';
import { STATUSES } from '../src/dataset.ts';
import { formatHttpDate } from '../src/dates.ts';
import { startEcadraft } from './children.ts';
import { timedGet } from './client.ts';
import { describeFailure, repeatedWarning } from './http.ts';
import { failed, type LoadSettings, runLoad } from './load.ts';
import { SCENARIOS, UNCACHEABLE_SHAPES, uncacheableQuery } from './scenarios.ts';
import { median } from './stats.ts';
import { mb } from './tables.ts';

export interface ScalePlan {
  counts: number[];
  /** Requests per repeated measurement. */
  repeats: number;
  /** Load between the two RSS readings: scenario (c), which fills the caches. */
  load: LoadSettings;
}

/** Milliseconds of the first request of a kind, and the median of the ones after it. */
export interface Latency {
  firstMs: number;
  repeatMs: number | undefined;
}

export interface ScaleRow {
  tickets: number;
  /** Spawn to the first 200 from /readyz. */
  readyMs: number;
  /** The server's own startupMs, from its ready line. */
  startupMs: number | undefined;
  rssStartBytes: number | undefined;
  rssAfterLoadBytes: number | undefined;
  /** (a): the first request goes through Fastify, repeats through the cache. */
  a: Latency;
  /** An unfiltered page at a URL not seen before: page building without the body cache. */
  unfilteredMiss: Latency;
  /** (c): every request a new query; the repeats come once every sort order it uses is built. */
  c: Latency;
  /** /tickets?sort=customer: the first builds the sort order. */
  sortCustomer: Latency;
  /** Medians of first-time `where` queries of each kind, without and with a sort. */
  where: Record<WhereKind, { plainMs: number | undefined; sortedMs: number | undefined }>;
  loadRps: number;
}

export const WHERE_KINDS = ['status', 'customer', 'updated', 'or', 'python'] as const;
export type WhereKind = (typeof WHERE_KINDS)[number];

export const WHERE_TITLES: Record<WhereKind, string> = {
  status: 'equality on status',
  customer: 'range on customer',
  updated: 'range on _updated',
  or: '$or',
  python: 'Python-style',
};

/** The sort of the sorted variant: newest first, a listing's usual order. */
export const WHERE_SORT = '-_updated';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const DAY = 86_400;
// Dates the generated tickets span (the two years before 2024).
const FIRST_DAY = Date.UTC(2022, 0, 1) / 1000;

/**
 * The n-th `where` of a kind: each differs from every other in its values, so
 * no cache of answers or of filter results can serve it, and each selects a
 * share of the tickets that does not depend on how many there are.
 */
export function whereQuery(kind: WhereKind, n: number): string {
  const status = STATUSES[n % STATUSES.length]!;
  const letter = (k: number) => LETTERS[k % LETTERS.length]!;
  const name = `${letter(n % 21)}${letter(n * 7 + 3)}`;
  const date = formatHttpDate(FIRST_DAY + (n % 700) * DAY + n);
  const filters: Record<WhereKind, string> = {
    status: JSON.stringify({ status }),
    // One to four initial letters' worth of customers, never wrapping past z.
    customer: JSON.stringify({ customer: { $gte: name, $lt: `${letter((n % 21) + 1 + (n % 4))}${n}` } }),
    updated: JSON.stringify({ _updated: { $gte: date } }),
    or: JSON.stringify({ $or: [{ status }, { customer: { $lt: name } }] }),
    python: `(status == "${status}" or status == "${STATUSES[(n + 1) % STATUSES.length]}") and customer > "${name}"`,
  };
  // The status filter has five values: the counter keeps its URL new, so the answer is computed every time.
  return `where=${encodeURIComponent(filters[kind])}&q=${n}`;
}

export interface ScaleResults {
  plan: ScalePlan;
  rows: ScaleRow[];
  failures: string[];
  warnings: string[];
}

// Bounds the repeats at the largest sizes, where one uncacheable query scans every ticket.
const PROBE_BUDGET_MS = 3000;

export async function runScale(plan: ScalePlan, log: (line: string) => void): Promise<ScaleResults> {
  const rows: ScaleRow[] = [];
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const tickets of plan.counts) {
    // Ready at a million tickets is one of the targets (10 s): allow well beyond it before calling it a failure.
    const server = await startEcadraft({ env: { TICKET_COUNT: String(tickets) }, timeoutMs: 120_000 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const rssStartBytes = server.rssBytes();
      const send = async (what: string, path: string) => {
        const { ms, status } = await timedGet(server.url + path, agent);
        if (status !== 200) failures.push(`${tickets} tickets, ${what}: status ${status}`);
        return ms;
      };
      /** `untimed` requests between the first and the repeats absorb one-time work the first did not cover. */
      const probe = async (what: string, paths: () => string, untimed = 0): Promise<Latency> => {
        const firstMs = await send(what, paths());
        for (let i = 0; i < untimed; i++) await send(what, paths());
        const times: number[] = [];
        const deadline = performance.now() + PROBE_BUDGET_MS;
        while (times.length < plan.repeats && (times.length < 1 || performance.now() < deadline))
          times.push(await send(what, paths()));
        return { firstMs, repeatMs: median(times) };
      };
      let n = 0;
      const a = await probe('(a)', () => '/tickets');
      // An unknown parameter is echoed into the links, so the URL is new but the page is the first, unfiltered.
      const unfilteredMiss = await probe('unfiltered page', () => `/tickets?bench=${n++}`);
      const sortCustomer = await probe('sort=customer', () => '/tickets?sort=customer');
      // Each sort order is computed on its first use: the repeats measure queries, not that.
      const c = await probe('(c)', () => `/tickets?${uncacheableQuery()}`, UNCACHEABLE_SHAPES);
      const where = {} as ScaleRow['where'];
      for (const kind of WHERE_KINDS) {
        const medianOf = async (sort: string) => {
          const times: number[] = [];
          const deadline = performance.now() + PROBE_BUDGET_MS;
          while (times.length < plan.repeats && (times.length < 1 || performance.now() < deadline))
            times.push(await send(`where (${kind})`, `/tickets?${whereQuery(kind, n++)}${sort}`));
          return median(times);
        };
        where[kind] = { plainMs: await medianOf(''), sortedMs: await medianOf(`&sort=${WHERE_SORT}`) };
      }
      const scenario = SCENARIOS.find((s) => s.id === 'c')!;
      const load = await runLoad(
        server.url,
        scenario.request({ etag: '', ids: [] }),
        scenario.expects,
        plan.load,
        server.cpuSeconds,
      );
      if (failed(load)) failures.push(describeFailure(`${tickets} tickets, load of (c)`, load));
      if (load.repeated > 0) warnings.push(repeatedWarning(`${tickets} tickets, load of (c)`, load));
      const row: ScaleRow = {
        tickets,
        readyMs: server.readyMs,
        startupMs: typeof server.readyLine.startupMs === 'number' ? server.readyLine.startupMs : undefined,
        rssStartBytes,
        rssAfterLoadBytes: server.rssBytes(),
        a,
        unfilteredMiss,
        c,
        sortCustomer,
        where,
        loadRps: load.rps,
      };
      rows.push(row);
      log(
        `${tickets} tickets: ready ${milliseconds(row.readyMs)}, RSS ${mb(row.rssStartBytes)} -> ${mb(row.rssAfterLoadBytes)}, ` +
          `(a) repeat ${milliseconds(a.repeatMs)}, unfiltered miss ${milliseconds(unfilteredMiss.repeatMs)}, (c) ${milliseconds(c.repeatMs)}, ` +
          `sort=customer first ${milliseconds(sortCustomer.firstMs)}, load (c) ${Math.round(load.rps)} req/s; where: ` +
          WHERE_KINDS.map((k) => `${k} ${milliseconds(where[k].plainMs)} / ${milliseconds(where[k].sortedMs)}`).join(
            ', ',
          ),
      );
    } finally {
      agent.destroy();
      await server.stop();
    }
  }
  return { plan, rows, failures, warnings };
}
