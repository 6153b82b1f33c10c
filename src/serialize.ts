// Eve's response bodies, written as JSON text from per-ticket fragments so that
// a page costs string joins, not object building and stringifying.
import { etagAt, ticketHead, type Dataset, type Field } from './dataset.ts';
import { formatHttpDate } from './dates.ts';
import { DEFAULT_MAX_RESULTS, type ListQuery } from './query.ts';

export const HOME_BODY = '{"_links":{"child":[{"href":"tickets","title":"tickets"}]}}';

// Eve echoes parameter values raw; these are the characters a URL query may
// not hold as they are (and `%` that starts no escape, `#` that would end the
// query), so the href stays a valid URL that decodes to Eve's text.
const NOT_IN_QUERY = /[\s"{}<>|\\^`#\u{0}-\u{1f}\u{7f}-\u{10ffff}]|%(?![0-9A-Fa-f]{2})/gu;

function escapeQueryValue(text: string): string {
  return text.replace(NOT_IN_QUERY, encodeURIComponent);
}

/** Eve's querydef(): the query string of a link to `page` of the same listing. */
export function linkQuery(query: ListQuery, page: number): string {
  const parts: string[] = [];
  if (query.maxResults !== DEFAULT_MAX_RESULTS) parts.push(`max_results=${query.maxResults}`);
  if (query.whereText !== undefined) parts.push(`where=${escapeQueryValue(query.whereText)}`);
  if (query.sortText !== undefined) parts.push(`sort=${escapeQueryValue(query.sortText)}`);
  if (page > 1) parts.push(`page=${page}`);
  for (const [key, value] of query.others) parts.push(`${escapeQueryValue(key)}=${escapeQueryValue(value)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const link = (title: string, href: string) => `{"title":${JSON.stringify(title)},"href":${JSON.stringify(href)}}`;

export function collectionLinks(query: ListQuery, total: number): string {
  const { page, maxResults } = query;
  let links = `"parent":${link('home', '/')},"self":${link('tickets', total > 0 ? `tickets${linkQuery(query, page)}` : 'tickets')}`;
  if (total > 0) {
    if (page * maxResults < total) {
      links += `,"next":${link('next page', `tickets${linkQuery(query, page + 1)}`)}`;
      links += `,"last":${link('last page', `tickets${linkQuery(query, Math.ceil(total / maxResults))}`)}`;
    }
    if (page > 1) links += `,"prev":${link('previous page', `tickets${linkQuery(query, page - 1)}`)}`;
  }
  return `{${links}}`;
}

/** Builds and remembers the JSON text of each ticket's served fields. */
export class Fragments {
  readonly #memo: (string | undefined)[] | undefined;

  /**
   * @param memoLimit - remember fragments only for datasets up to this size:
   *   below it they are the fastest path, above it they would cost more memory than
   *   the whole dataset.
   */
  constructor(readonly data: Dataset, memoLimit: number) {
    this.#memo = data.count <= memoLimit ? new Array<string | undefined>(data.count) : undefined;
  }

  /** The ticket's members up to and including `_etag`, without the closing brace. */
  fields(index: number): string {
    const memo = this.#memo;
    if (memo) return (memo[index] ??= this.#build(index));
    return this.#build(index);
  }

  #build(index: number): string {
    const d = this.data;
    return `${ticketHead(d, index)},"_etag":"${etagAt(d, index)}"`;
  }

  /** A projected ticket: only the chosen fields, in Eve's order. */
  projected(index: number, fields: readonly Field[]): string {
    const full = JSON.parse(`${this.fields(index)}}`) as Record<Field, string>;
    return `{${fields.map((f) => `${JSON.stringify(f)}:${JSON.stringify(full[f])}`).join(',')}`;
  }
}

export function itemInCollection(fields: string, id: string): string {
  return `${fields},"_links":{"self":{"title":"Ticket","href":"tickets/${id}"}}}`;
}

export function itemBody(fields: string, id: string, query: ListQuery): string {
  return `${fields},"_links":{"self":{"title":"Ticket","href":"tickets/${id}"},`
    + `"parent":${link('home', '/')},"collection":${link('tickets', `tickets${linkQuery(query, query.page)}`)}}}`;
}

export function collectionBody(items: string[], query: ListQuery, total: number): string {
  return `{"_items":[${items.join(',')}],"_links":${collectionLinks(query, total)},`
    + `"_meta":{"page":${query.page},"max_results":${query.maxResults},"total":${total}}}`;
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
