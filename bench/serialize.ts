// The page serializer alone, in-process: ecadraft's fragments joined into a
// body, against JSON.stringify and fast-json-stringify of the same page as
// objects, and against the idiomatic baseline's whole per-request work.
import fastJsonStringify from 'fast-json-stringify';
import { DEFAULT_SEED } from '../src/config.ts';
import { generateDataset } from '../src/dataset.ts';
import { parseListQuery } from '../src/query.ts';
import { collectionBody } from '../src/serialize.ts';
import { Store } from '../src/store.ts';
import { FORMATTERS } from '../src/versions.ts';
import { buildPage, type Page, pageSchema, type Row, rowOf } from './baseline-page.ts';
import type { EveItem } from './client.ts';
import { median, ratio } from './stats.ts';

export interface SerializePlan {
  rounds: number;
  /** Time each candidate runs in each round. */
  msPerRun: number;
  /** Tickets in the dataset the pages come from. */
  tickets: number;
}

export interface SerializeRow {
  items: number;
  candidate: string;
  /** Median over the rounds. */
  opsPerS: number | undefined;
  vsJsonStringify: number | undefined;
  vsFastJsonStringify: number | undefined;
  /** Whether it produces exactly the real server's body. */
  identical: boolean;
}

export interface SerializeResults {
  plan: SerializePlan;
  rows: SerializeRow[];
}

interface Candidate {
  name: string;
  run: () => string | Buffer;
}

export const JSON_STRINGIFY = 'JSON.stringify, objects prebuilt';
export const FAST_JSON_STRINGIFY = 'fast-json-stringify, objects prebuilt';

// Keeps every result alive as far as the optimizer can tell.
let sink = 0;

function opsPerSecond(run: () => string | Buffer, ms: number): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 50; i++) sink += run().length;
    calls += 50;
    elapsed = performance.now() - start;
  }
  return (calls / elapsed) * 1000;
}

export function runSerialize(plan: SerializePlan, log: (line: string) => void): SerializeResults {
  const data = generateDataset(plan.tickets, DEFAULT_SEED, FORMATTERS.v1.format);
  // A response cache of zero bytes keeps nothing: every call below is a miss.
  const store = new Store(data, { responseCacheBytes: 0 });
  const toFastJson = fastJsonStringify(pageSchema);
  const allRows: Row[] = [];
  for (let p = 1; allRows.length < data.count; p++) {
    allRows.push(
      ...(JSON.parse(store.collection(`max_results=50&page=${p}`).body.toString()) as { _items: EveItem[] })._items.map(
        rowOf,
      ),
    );
  }
  const rows: SerializeRow[] = [];
  for (const items of [25, 50]) {
    const queryString = `max_results=${items}`;
    const expected = store.collection(queryString).body.toString();
    const page = JSON.parse(expected) as Page;
    const query = parseListQuery(queryString);
    const indexes = store.select(undefined, [], 0, items).page;
    const candidates: Candidate[] = [
      {
        name: 'ecadraft collectionBody, fragments',
        run: () => {
          const parts: string[] = [];
          for (const i of indexes) parts.push(store.fragments.listed(i));
          return collectionBody(parts, query, data.count);
        },
      },
      { name: 'ecadraft Store#collection, cache miss', run: () => store.collection(queryString).body },
      { name: JSON_STRINGIFY, run: () => JSON.stringify(page) },
      { name: FAST_JSON_STRINGIFY, run: () => toFastJson(page) },
      {
        name: 'baseline: build objects + fast-json-stringify',
        run: () => toFastJson(buildPage(allRows, { max_results: String(items) })),
      },
    ];
    const runs = new Map(candidates.map((c) => [c.name, [] as number[]]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const c of candidates) runs.get(c.name)!.push(opsPerSecond(c.run, plan.msPerRun));
    }
    const medians = new Map(candidates.map((c) => [c.name, median(runs.get(c.name)!)]));
    for (const c of candidates) {
      const opsPerS = medians.get(c.name);
      rows.push({
        items,
        candidate: c.name,
        opsPerS,
        vsJsonStringify: ratio(opsPerS, medians.get(JSON_STRINGIFY)),
        vsFastJsonStringify: ratio(opsPerS, medians.get(FAST_JSON_STRINGIFY)),
        identical: c.run().toString() === expected,
      });
    }
    log(
      `${items}-item page: ${candidates.map((c) => `${c.name} ${Math.round(medians.get(c.name) ?? 0)}/s`).join(', ')}`,
    );
  }
  if (sink === 0) log('(no output?)');
  return { plan, rows };
}
