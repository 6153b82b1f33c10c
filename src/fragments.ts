// The JSON text of each ticket as a collection lists it, built once and
// remembered (on datasets small enough), so that a page costs string joins.
import { type Dataset, etagAt, type Field, idAt, ticketHead } from './dataset.ts';
import { selfLink } from './serialize.ts';
import { flat } from './strings.ts';

const listedLinks = (id: string) => `,"_links":{${selfLink(id)}}}`;
// Ids are all 36 characters, so every listed ticket ends in a suffix of this length.
const LISTED_LINKS_LENGTH = listedLinks('0'.repeat(36)).length;

/** Builds and remembers the JSON text of each ticket as a collection lists it. */
export class Fragments {
  readonly #memo: (string | undefined)[] | undefined;

  /**
   * @param memoLimit - remember fragments only for datasets up to this size:
   *   below it they are the fastest path, above it they would cost more memory than
   *   the whole dataset.
   */
  constructor(
    readonly data: Dataset,
    memoLimit: number,
  ) {
    this.#memo = data.count <= memoLimit ? new Array<string | undefined>(data.count) : undefined;
  }

  /** The ticket with `_links` holding only `self`, as in `_items`. */
  listed(index: number): string {
    const memo = this.#memo;
    if (!memo) return this.#build(index);
    let fragment = memo[index];
    if (fragment === undefined) {
      fragment = this.#build(index);
      memo[index] = fragment;
    }
    return fragment;
  }

  /** The ticket's members up to and including `_etag`, without the closing brace. */
  fields(index: number): string {
    return this.listed(index).slice(0, -LISTED_LINKS_LENGTH);
  }

  #build(index: number): string {
    const d = this.data;
    return flat(`${ticketHead(d, index)},"_etag":"${etagAt(d, index)}"${listedLinks(idAt(d, index))}`);
  }

  /** A projected ticket as a collection lists it: only the chosen fields, in Eve's order. */
  projected(index: number, fields: readonly Field[]): string {
    return `${this.projectedFields(index, fields)}${listedLinks(idAt(this.data, index))}`;
  }

  /** The chosen fields of a ticket, in Eve's order, without the closing brace. */
  projectedFields(index: number, fields: readonly Field[]): string {
    const full = JSON.parse(`${this.fields(index)}}`) as Record<Field, string>;
    return `{${fields.map((f) => `${JSON.stringify(f)}:${JSON.stringify(full[f])}`).join(',')}`;
  }
}
