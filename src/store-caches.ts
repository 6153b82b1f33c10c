// The store's two caches, behind one doorkeeper: whole answers by what their
// request asked, and combined filters' matches by the filter's canonical text.
// Each keeps a thing from the second time it is asked for, within a byte budget.
import { Doorkeeper, LruCache } from './lru.ts';
import type { Representation } from './representation.ts';
import type { Matches } from './select/ticket-sets.ts';

type Bits = Matches & { kind: 'bits' };

export class StoreCaches {
  readonly #doorkeeper = new Doorkeeper();
  readonly #answers: LruCache<Representation>;
  readonly #matches: LruCache<Bits>;

  /** @param answerBytes - bytes of answers kept (the benchmark sets 0 to time misses) */
  constructor(ticketCount: number, answerBytes = 16 * 1024 * 1024) {
    this.#answers = new LruCache(answerBytes, (r) => Buffer.byteLength(r.body) + 150);
    // Room for 128 filters' bitmaps at any size, and far more on small datasets.
    this.#matches = new LruCache(Math.max(8 * 1024 * 1024, ticketCount * 16), (m) => m.words.byteLength);
  }

  answer(key: string): Representation | undefined {
    return this.#answers.get(key);
  }

  /** Kept as bytes, to be sent again and again. */
  rememberAnswer(key: string, rep: Representation): void {
    if (!this.#doorkeeper.admit(key)) return;
    rep.body = Buffer.from(rep.body);
    this.#answers.set(key, rep);
  }

  matches(key: string): Bits | undefined {
    return this.#matches.get(key);
  }

  /** Runs of an index cost nothing to find again; only combined results are worth keeping. */
  rememberMatches(key: string, matches: Matches): void {
    if (matches.kind === 'bits' && this.#doorkeeper.admit(`\u0000${key}`)) this.#matches.set(key, matches);
  }
}
