// Eve's response bodies and HATEOAS links, written as JSON text around the
// per-ticket fragments (fragments.ts) so that a page costs string joins, not
// object building and stringifying.
import type { Dataset } from './dataset.ts';
import { formatHttpDate } from './dates.ts';
import { DEFAULT_MAX_RESULTS, type ListQuery } from './query.ts';

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

/** A ticket's own link, as `_links` holds it. */
export const selfLink = (id: string) => `"self":{"title":"Ticket","href":"tickets/${id}"}`;

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
