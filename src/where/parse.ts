// The `where` parameter, as text: Mongo-style JSON or Eve's Python-style
// expressions, refused when too long, too deep or using an operator Eve bans
// or does not know; a valid one becomes a filter with a canonical key.
import { badRequest } from '../eve-errors.ts';
import { isObject, type Json, type JsonObject, unparsable } from './json.ts';
import { parsePython } from './python.ts';

export const MAX_WHERE_LENGTH = 4096;
export const MAX_WHERE_DEPTH = 32;

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$not']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);
const BANNED_OPERATORS = new Set(['$where', '$regex']);

export interface Where {
  /** A canonical text of the filter, to cache its results by. */
  readonly key: string;
  readonly filter: JsonObject;
}

/**
 * Refuse over-long and over-deep input from the raw text, before any parser
 * walks it: a 10,000-deep JSON must cost no more than a glance.
 */
function checkSize(text: string): void {
  if (text.length > MAX_WHERE_LENGTH) {
    unparsable(`longer than ${MAX_WHERE_LENGTH} characters`);
  }
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '{' || c === '[' || c === '(') {
      if (++depth > MAX_WHERE_DEPTH) unparsable(`nested deeper than ${MAX_WHERE_DEPTH} levels`);
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
    }
  }
}

export function parseWhere(text: string): Where {
  checkSize(text);
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch (jsonError) {
    const trimmed = text.trimStart();
    // Text that starts like JSON was meant as JSON: its JSON error is the useful one.
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      unparsable((jsonError as Error).message);
    }
    parsed = parsePython(text);
  }
  if (!isObject(parsed)) unparsable('expected a JSON object or a Python-style expression');
  checkOperators(parsed);
  return { key: JSON.stringify(parsed), filter: parsed };
}

/** Eve's rules: banned operators first named, then any operator it does not know. */
function checkOperators(filter: JsonObject): void {
  const banned = new Set<string>();
  const unknown = new Set<string>();
  const visit = (node: Json, atField: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, false);
      return;
    }
    if (!isObject(node)) return;
    for (const key of Object.keys(node)) {
      if (key.startsWith('$')) {
        if (BANNED_OPERATORS.has(key)) banned.add(key);
        else if (!(atField ? FIELD_OPERATORS : LOGICAL_OPERATORS).has(key)) unknown.add(key);
        visit(node[key]!, key === '$not');
      } else {
        visit(node[key]!, true);
      }
    }
  };
  visit(filter, false);
  if (banned.size) throw badRequest(`Query contains operators banned: ${[...banned].join(', ')}`);
  if (unknown.size) throw badRequest(`Query contains unknown or unsupported operators: ${[...unknown].join(', ')}`);
}
