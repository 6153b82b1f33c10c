// Eve's response bodies, written as JSON text from per-ticket fragments so that
// a page costs string joins, not object building and stringifying.
import { type Dataset, etagAt, type Field, idAt, ticketHead } from './dataset.ts';
import { formatHttpDate } from './dates.ts';
import { DEFAULT_MAX_RESULTS, type ListQuery } from './query.ts';
import { flat } from './strings.ts';

/** Stated in full, so a body sent as text and the same body sent as bytes get the same header. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export const HOME_BODY = '{"_links":{"child":[{"href":"tickets","title":"tickets"}]}}';

// Eve echoes parameter values raw; these are the characters a URL query may
// not hold as they are (and `%` that starts no escape, `#` that would end the
// query), so the href stays a valid URL that decodes to Eve's text: controls,
// space, `"#<>\^`{|}` and DEL, escaped by this table, and everything beyond
// ASCII, escaped as UTF-8.
const ESCAPED_ASCII: (string | undefined)[] = Array.from({ length: 128 }, (_, c) =>
  c <= 0x20 || c === 0x7f || '"#<>\\^`{|}'.includes(String.fromCharCode(c))
    ? encodeURIComponent(String.fromCharCode(c))
    : undefined,
);

const isHexDigit = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** A character loop rather than a regular expression with a callback: it runs for every page's links. */
export function escapeQueryValue(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let escaped: string | undefined;
    let end = i + 1;
    if (c < 0x80) {
      escaped =
        c === 0x25 && !(isHexDigit(text.charCodeAt(i + 1)) && isHexDigit(text.charCodeAt(i + 2)))
          ? '%25'
          : ESCAPED_ASCII[c];
    } else {
      // A surrogate pair is one character, escaped as its four UTF-8 bytes.
      if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) end++;
      escaped = encodeURIComponent(text.slice(i, end));
    }
    if (escaped === undefined) continue;
    out += text.slice(from, i) + escaped;
    from = end;
    i = end - 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Eve's querydef(): the query string of a link to a page of the same listing.
 * Escaping is done once for all of a response's links.
 */
export function linkQuery(query: ListQuery): (page: number) => string {
  const before: string[] = [];
  if (query.maxResults !== DEFAULT_MAX_RESULTS) before.push(`max_results=${query.maxResults}`);
  if (query.whereText !== undefined) before.push(`where=${escapeQueryValue(query.whereText)}`);
  if (query.sortText !== undefined) before.push(`sort=${escapeQueryValue(query.sortText)}`);
  const after = query.others.map(([key, value]) => `${escapeQueryValue(key)}=${escapeQueryValue(value)}`);
  return (page) => {
    const parts = page > 1 ? [...before, `page=${page}`, ...after] : [...before, ...after];
    return parts.length ? `?${parts.join('&')}` : '';
  };
}

const link = (title: string, href: string) => `{"title":${JSON.stringify(title)},"href":${JSON.stringify(href)}}`;

export function collectionLinks(query: ListQuery, total: number): string {
  const { page, maxResults } = query;
  const href = linkQuery(query);
  let links = `"parent":${link('home', '/')},"self":${link('tickets', total > 0 ? `tickets${href(page)}` : 'tickets')}`;
  if (total > 0) {
    if (page * maxResults < total) {
      links += `,"next":${link('next page', `tickets${href(page + 1)}`)}`;
      links += `,"last":${link('last page', `tickets${href(Math.ceil(total / maxResults))}`)}`;
    }
    if (page > 1) links += `,"prev":${link('previous page', `tickets${href(page - 1)}`)}`;
  }
  return `{${links}}`;
}

const selfLink = (id: string) => `"self":{"title":"Ticket","href":"tickets/${id}"}`;
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

export function itemBody(fields: string, id: string, query: ListQuery): string {
  return (
    `${fields},"_links":{${selfLink(id)},` +
    `"parent":${link('home', '/')},"collection":${link('tickets', `tickets${linkQuery(query)(query.page)}`)}}}`
  );
}

export function collectionBody(items: string[], query: ListQuery, total: number): string {
  return (
    `{"_items":[${items.join(',')}],"_links":${collectionLinks(query, total)},` +
    `"_meta":{"page":${query.page},"max_results":${query.maxResults},"total":${total}}}`
  );
}

/** Eve's `pretty`: the same document indented by four spaces. */
export function prettify(body: string): string {
  return JSON.stringify(JSON.parse(body), null, 4);
}

export const lastModified = (data: Dataset, indexes: Iterable<number>): string | undefined => {
  let newest = -1;
  for (const i of indexes) newest = Math.max(newest, data.updated[i]!);
  return newest < 0 ? undefined : formatHttpDate(newest);
};
