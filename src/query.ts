// Eve's query parameters, read from the raw query string with Eve's leniency:
// paging never fails, the first of a repeated parameter counts, and an empty
// value counts as absent.

import { FIELDS, type Field } from './dataset.ts';
import { badRequest } from './eve-errors.ts';
import { parseWhere, type Where } from './where/parse.ts';
import { pythonString } from './where/python.ts';

export const DEFAULT_MAX_RESULTS = 25;
export const MAX_MAX_RESULTS = 50;

export interface SortKey {
  field: string;
  direction: 1 | -1;
}

export interface ListQuery {
  maxResults: number;
  page: number;
  /** The raw `where` text, echoed into links. */
  whereText: string | undefined;
  where: Where | undefined;
  sortText: string | undefined;
  sort: SortKey[];
  /** The served fields, in Eve's order, or undefined for all of them. */
  projection: Field[] | undefined;
  pretty: boolean;
  /** Every other parameter (first occurrence, request order), echoed into links. */
  others: [string, string][];
}

const RESERVED = new Set(['where', 'sort', 'page', 'max_results', 'projection', 'embedded']);

/** A form-encoded name or value: `+` is a space, then percent-escapes as UTF-8; throws URIError when they are not. */
function decodeComponent(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}

const NON_ASCII = /[^\0-\x7f]/;

/**
 * First occurrence of each parameter, in request order, decoded as
 * URLSearchParams decodes them. Well-formed input (what HTTP delivers: ASCII,
 * escapes of UTF-8) is split and decoded here, which costs a fraction of
 * building a URLSearchParams; anything else (a `%` that starts no escape,
 * escapes that are not UTF-8, raw non-ASCII text) is left to
 * URLSearchParams's lenient rules.
 */
export function parseParams(queryString: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!NON_ASCII.test(queryString)) {
    try {
      for (const part of queryString.split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
        if (!params.has(key)) params.set(key, eq < 0 ? '' : decodeComponent(part.slice(eq + 1)));
      }
      return params;
    } catch {
      params.clear();
    }
  }
  // The constructor would drop a leading '?', which here is part of a key (a target like /tickets??x).
  for (const [key, value] of new URLSearchParams(`&${queryString}`)) {
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

/**
 * A `where` whose escapes are not UTF-8 decodes to U+FFFD, which a parse error
 * would quote as if it were sent: refused instead with the message a path gets
 * for the same bytes, quoting the escapes as written. (A `%` that starts no
 * escape stays literal text, which the parser's message shows as it is.)
 */
function refuseUndecodableWhere(queryString: string): void {
  for (const part of queryString.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    let key: string;
    try {
      key = decodeComponent(part.slice(0, eq));
    } catch {
      continue;
    }
    if (key !== 'where') continue;
    const raw = part.slice(eq + 1);
    try {
      decodeComponent(raw);
    } catch {
      if (/%[0-9a-f]{2}/i.test(raw))
        throw badRequest(`Unable to parse \`where\` clause: '${raw}' is not a valid url component`);
    }
    // Only the first occurrence counts.
    return;
  }
}

const PY_FLOAT = /^[+-]?(?:(?:\d(?:_?\d)*)(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;
const PY_INT = /^[+-]?\d(?:_?\d)*$/;

/** Python's float(): what Eve applies to max_results. */
function pythonFloat(text: string): number {
  const t = text.trim();
  if (PY_FLOAT.test(t)) return Number(t.replaceAll('_', ''));
  if (PY_SPECIAL.test(t)) return t.toLowerCase().includes('nan') ? NaN : t.startsWith('-') ? -Infinity : Infinity;
  return NaN;
}

export function parseMaxResults(text: string | undefined): number {
  const n = Math.trunc(pythonFloat(text ?? ''));
  if (!(n > 0)) return DEFAULT_MAX_RESULTS;
  return Math.min(n, MAX_MAX_RESULTS);
}

/** Python's abs(int(page)); beyond 2^53 the page is past any dataset anyway. */
export function parsePage(text: string | undefined): number {
  const t = (text ?? '').trim();
  if (!PY_INT.test(t)) return 1;
  const n = Math.min(Math.abs(Number(t.replaceAll('_', ''))), Number.MAX_SAFE_INTEGER);
  return n === 0 ? 1 : n;
}

const SORT_PAIR = /\s*[([]\s*('(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*")\s*,\s*([+-]?\d+)\s*,?\s*[)\]]\s*(,|$)/y;

export function parseSort(text: string): SortKey[] {
  const t = text.trim();
  const keys: SortKey[] = [];
  const direction = (d: string): 1 | -1 => {
    const n = Number(d);
    if (n !== 1 && n !== -1) throw badRequest(`Unable to parse \`sort\`: direction must be 1 or -1, not ${d}`);
    return n;
  };
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw badRequest('Unable to parse `sort`: expected [("field", 1), ...]');
    const body = t.slice(1, -1);
    SORT_PAIR.lastIndex = 0;
    while (SORT_PAIR.lastIndex < body.length && body.slice(SORT_PAIR.lastIndex).trim() !== '') {
      const at = SORT_PAIR.lastIndex;
      const m = SORT_PAIR.exec(body);
      if (!m)
        throw badRequest(
          `Unable to parse \`sort\`: expected ("field", 1) at ${JSON.stringify(body.slice(at, at + 20))}`,
        );
      keys.push({ field: pythonString(m[1]!), direction: direction(m[2]!) });
      if (m[3] === '') break;
    }
    return keys;
  }
  for (const raw of t.split(',')) {
    const part = raw.trim();
    const field = part.startsWith('-') ? part.slice(1) : part;
    if (field === '' || /[\s()[\]"']/.test(field)) {
      throw badRequest(
        `Unable to parse \`sort\`: ${part === '' ? 'empty field' : `invalid field ${JSON.stringify(part)}`} in ${JSON.stringify(text)}`,
      );
    }
    keys.push({ field, direction: part.startsWith('-') ? -1 : 1 });
  }
  return keys;
}

function jsonObject(name: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`Unable to parse \`${name}\`: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`Unable to parse \`${name}\`: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

const ALWAYS_PROJECTED: ReadonlySet<Field> = new Set<Field>(['_id', '_updated', '_created', '_etag']);

export function parseProjection(text: string): Field[] {
  const spec = jsonObject('projection', text);
  const include = new Set<string>();
  const exclude = new Set<string>();
  for (const [field, value] of Object.entries(spec)) {
    if (value === 1 || value === true) include.add(field);
    else if (value === 0 || value === false) exclude.add(field);
    else throw badRequest(`Unable to parse \`projection\`: ${JSON.stringify(field)} must be 0 or 1`);
  }
  return FIELDS.filter((f) => ALWAYS_PROJECTED.has(f) || (include.size > 0 ? include.has(f) : !exclude.has(f)));
}

export function parseListQuery(queryString: string): ListQuery {
  const params = parseParams(queryString);
  // An empty value counts as absent.
  const get = (name: string) => params.get(name) || undefined;
  const whereText = get('where');
  if (whereText?.includes('\uFFFD')) refuseUndecodableWhere(queryString);
  const sortText = get('sort');
  const projectionText = get('projection');
  const embeddedText = get('embedded');
  if (embeddedText !== undefined) jsonObject('embedded', embeddedText);
  const projection = projectionText === undefined ? undefined : parseProjection(projectionText);
  return {
    maxResults: parseMaxResults(get('max_results')),
    page: parsePage(get('page')),
    whereText,
    where: whereText === undefined ? undefined : parseWhere(whereText),
    sortText,
    sort: sortText === undefined ? [] : parseSort(sortText),
    projection: projection?.length === FIELDS.length ? undefined : projection,
    pretty: params.has('pretty'),
    others: [...params].filter(([key]) => !RESERVED.has(key)),
  };
}
