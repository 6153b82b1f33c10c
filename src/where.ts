// The `where` parameter: Mongo-style JSON, or Eve's Python-style expressions,
// turned into a predicate over ticket indexes.

import { type Column, columnOf, type Dataset } from './dataset.ts';
import { parseHttpDate } from './dates.ts';
import { badRequest } from './errors.ts';
import { compareCodePoints } from './strings.ts';

export const MAX_WHERE_LENGTH = 4096;
export const MAX_WHERE_DEPTH = 32;

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$not']);
const LOGICAL_OPERATORS = new Set(['$and', '$or', '$nor']);
const BANNED_OPERATORS = new Set(['$where', '$regex']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
export type Predicate = (index: number) => boolean;

export interface Where {
  /** A canonical text of the filter, to cache its results by. */
  readonly key: string;
  readonly filter: JsonObject;
}

function unparsable(detail: string): never {
  throw badRequest(`Unable to parse \`where\` clause: ${detail}`);
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

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

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

// ---- Matching -------------------------------------------------------------

export type Comparison = 'eq' | 'gt' | 'gte' | 'lt' | 'lte';

/**
 * A filter as comparisons of one field with a value of that field's own kind
 * (customer names folded, dates in epoch seconds) under and/or/not. What
 * Mongo's rules decide without looking at a ticket (a field no ticket has, an
 * operand of another type, `$exists`) is already a constant here, so both the
 * scan below and the index planner see only comparisons they can answer.
 */
export type Condition =
  | { readonly op: 'const'; readonly value: boolean }
  | { readonly op: 'compare'; readonly field: string; readonly test: Comparison; readonly value: string | number }
  | { readonly op: 'and' | 'or'; readonly parts: readonly Condition[] }
  | { readonly op: 'not'; readonly part: Condition };

const TRUE: Condition = { op: 'const', value: true };
const FALSE: Condition = { op: 'const', value: false };
const constant = (value: boolean): Condition => (value ? TRUE : FALSE);

/** `$and`/`$or` of the parts, nested ones of the same kind flattened and constants folded. */
function junction(op: 'and' | 'or', parts: Condition[]): Condition {
  const absorbing = op === 'or';
  const kept: Condition[] = [];
  for (const part of parts) {
    if (part.op === 'const') {
      if (part.value === absorbing) return part;
    } else if (part.op === op) {
      kept.push(...part.parts);
    } else {
      kept.push(part);
    }
  }
  if (kept.length === 0) return constant(!absorbing);
  return kept.length === 1 ? kept[0]! : { op, parts: kept };
}

function negation(part: Condition): Condition {
  if (part.op === 'const') return constant(!part.value);
  return part.op === 'not' ? part.part : { op: 'not', part };
}

interface Field {
  name: string;
  column: Column | undefined;
}

/**
 * An operand as the field will see it: Mongo never matches across types, so
 * an operand of another type is `other`, and a date field compares an RFC 1123
 * string as a date.
 */
type Operand = { kind: 'string' | 'date'; value: string | number } | { kind: 'null' | 'other' };

function operand({ column }: Field, value: Json): Operand {
  if (value === null) return { kind: 'null' };
  if (typeof value !== 'string') return { kind: 'other' };
  if (column?.kind === 'date') {
    const t = parseHttpDate(value);
    return t === undefined ? { kind: 'other' } : { kind: 'date', value: t };
  }
  return { kind: 'string', value: column?.fold ? column.fold(value) : value };
}

function compared(field: Field, op: Operand, test: Comparison): Condition {
  if (op.kind !== field.column?.kind) return FALSE;
  return { op: 'compare', field: field.name, test, value: (op as { value: string | number }).value };
}

// A field no ticket has equals null and nothing else.
const equals = (field: Field, op: Operand): Condition =>
  field.column ? compared(field, op, 'eq') : constant(op.kind === 'null');

function list(value: Json, name: string): Json[] {
  if (!Array.isArray(value)) unparsable(`${name} needs an array`);
  return value;
}

function conditions(value: Json, name: string): JsonObject[] {
  const items = list(value, name);
  if (items.length === 0 || !items.every(isObject)) unparsable(`${name} needs a non-empty array of conditions`);
  return items as JsonObject[];
}

function fieldCondition(field: Field, condition: Json): Condition {
  const keys = isObject(condition) ? Object.keys(condition) : [];
  if (!keys.some((k) => k.startsWith('$'))) return equals(field, operand(field, condition));
  if (!keys.every((k) => k.startsWith('$'))) unparsable('operators and plain values mixed in one condition');
  const parts = keys.map((op): Condition => {
    const value = (condition as JsonObject)[op]!;
    const arg = () => operand(field, value);
    switch (op) {
      case '$eq':
        return equals(field, arg());
      case '$ne':
        return negation(equals(field, arg()));
      case '$gt':
        return compared(field, arg(), 'gt');
      case '$gte':
        return compared(field, arg(), 'gte');
      case '$lt':
        return compared(field, arg(), 'lt');
      case '$lte':
        return compared(field, arg(), 'lte');
      case '$in':
        return junction(
          'or',
          list(value, op).map((v) => equals(field, operand(field, v))),
        );
      case '$nin':
        return negation(
          junction(
            'or',
            list(value, op).map((v) => equals(field, operand(field, v))),
          ),
        );
      case '$exists':
        return constant((field.column !== undefined) === (value !== false && value !== 0 && value !== null));
      case '$not':
        if (!isObject(value) || Object.keys(value).length === 0) unparsable('$not needs an object of operators');
        return negation(fieldCondition(field, value));
      default:
        return unparsable(`unsupported operator ${op}`);
    }
  });
  return junction('and', parts);
}

function objectCondition(data: Dataset, filter: JsonObject): Condition {
  const parts = Object.keys(filter).map((key): Condition => {
    const value = filter[key]!;
    switch (key) {
      case '$and':
        return junction(
          'and',
          conditions(value, key).map((c) => objectCondition(data, c)),
        );
      case '$or':
        return junction(
          'or',
          conditions(value, key).map((c) => objectCondition(data, c)),
        );
      case '$nor':
        return negation(
          junction(
            'or',
            conditions(value, key).map((c) => objectCondition(data, c)),
          ),
        );
      default:
        return fieldCondition({ name: key, column: columnOf(data, key) }, value);
    }
  });
  return junction('and', parts);
}

/** The filter as a Condition; throws the 400 a malformed one deserves. */
export function conditionOf(data: Dataset, where: Where): Condition {
  return objectCondition(data, where.filter);
}

function compare(a: string | number, b: string | number): number {
  return typeof a === 'string' ? compareCodePoints(a, b as string) : (a as number) - (b as number);
}

function comparisonPredicate(data: Dataset, condition: Extract<Condition, { op: 'compare' }>): Predicate {
  const { get } = columnOf(data, condition.field)!;
  const { value } = condition;
  switch (condition.test) {
    case 'eq':
      return (i) => get(i) === value;
    case 'gt':
      return (i) => compare(get(i), value) > 0;
    case 'gte':
      return (i) => compare(get(i), value) >= 0;
    case 'lt':
      return (i) => compare(get(i), value) < 0;
    case 'lte':
      return (i) => compare(get(i), value) <= 0;
  }
}

/**
 * Whether one ticket matches, by reading its values: the definition of a
 * match, which the index planner must agree with, and its fallback for
 * fields no index covers.
 */
export function predicateOf(data: Dataset, condition: Condition): Predicate {
  switch (condition.op) {
    case 'const': {
      const { value } = condition;
      return () => value;
    }
    case 'compare':
      return comparisonPredicate(data, condition);
    case 'and': {
      const parts = condition.parts.map((c) => predicateOf(data, c));
      return (i) => parts.every((p) => p(i));
    }
    case 'or': {
      const parts = condition.parts.map((c) => predicateOf(data, c));
      return (i) => parts.some((p) => p(i));
    }
    case 'not': {
      const part = predicateOf(data, condition.part);
      return (i) => !part(i);
    }
  }
}

/** The scan: a predicate for the whole filter. */
export function compileWhere(data: Dataset, where: Where): Predicate {
  return predicateOf(data, conditionOf(data, where));
}

// ---- Python-style expressions ---------------------------------------------

type Token =
  | { t: 'op'; v: string }
  | { t: 'name'; v: string }
  | { t: 'value'; v: string | number }
  | { t: 'punct'; v: '(' | ')' };

const TOKEN = new RegExp(
  [
    /(\s+)/.source,
    /(==|!=|>=|<=|>|<)/.source,
    /([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)/.source,
    /([+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)(?![A-Za-z0-9_.])/.source,
    /('(?:[^'\\\n]|\\[\s\S])*'|"(?:[^"\\\n]|\\[\s\S])*")/.source,
    /([()])/.source,
  ].join('|'),
  'y',
);

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\n': '',
};

/** The text of a Python string literal, quotes included. */
export function pythonString(literal: string): string {
  return literal
    .slice(1, -1)
    .replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\s\S])/g, (whole, esc: string) => {
      if (esc.length > 1) {
        const cp = parseInt(esc.slice(1), 16);
        return cp <= 0x10ffff ? String.fromCodePoint(cp) : unparsable(`invalid escape ${whole}`);
      }
      // Python keeps an unknown escape as written.
      return ESCAPES[esc] ?? whole;
    });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) unparsable(`unexpected ${JSON.stringify(text.slice(at, at + 10))} at position ${at}`);
    const [, space, op, name, number, string, punct] = m;
    if (space !== undefined) continue;
    if (op !== undefined) tokens.push({ t: 'op', v: op });
    else if (name !== undefined) tokens.push({ t: 'name', v: name });
    else if (number !== undefined) tokens.push({ t: 'value', v: Number(number.replaceAll('_', '')) });
    else if (string !== undefined) tokens.push({ t: 'value', v: pythonString(string) });
    else tokens.push({ t: 'punct', v: punct as '(' | ')' });
  }
  return tokens;
}

const UNSUPPORTED_WORDS = new Set(['not', 'in', 'is', 'lambda', 'if', 'else', 'for']);
const COMPARISONS: Record<string, string> = {
  '==': '$eq',
  '!=': '$ne',
  '>': '$gt',
  '>=': '$gte',
  '<': '$lt',
  '<=': '$lte',
};

function parsePython(text: string): JsonObject {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (tok: Token | undefined, word: string) => tok?.t === 'name' && tok.v === word;
  const describe = (tok: Token | undefined) => (tok ? `\`${tok.v}\`` : 'end of input');
  const unsupported = (tok: Token | undefined): void => {
    if (tok?.t === 'name' && UNSUPPORTED_WORDS.has(tok.v)) unparsable(`operator \`${tok.v}\` is not supported`);
  };

  const joined = (op: '$and' | '$or', word: string, next: () => JsonObject): JsonObject => {
    const parts = [next()];
    while (isWord(peek(), word)) {
      pos++;
      parts.push(next());
    }
    return parts.length === 1 ? parts[0]! : { [op]: parts };
  };
  const orExpr = (): JsonObject => joined('$or', 'or', andExpr);
  const andExpr = (): JsonObject => joined('$and', 'and', atom);
  const atom = (): JsonObject => {
    const tok = peek();
    unsupported(tok);
    if (tok?.t === 'punct' && tok.v === '(') {
      pos++;
      const inner = orExpr();
      const close = tokens[pos++];
      if (close?.t !== 'punct' || close.v !== ')') unparsable(`expected \`)\`, found ${describe(close)}`);
      return inner;
    }
    if (tok?.t !== 'name' || tok.v === 'and' || tok.v === 'or')
      unparsable(`expected a field name, found ${describe(tok)}`);
    pos++;
    const op = tokens[pos++];
    unsupported(op);
    if (op?.t !== 'op') unparsable(`expected a comparison after \`${tok.v}\`, found ${describe(op)}`);
    const value = tokens[pos++];
    unsupported(value);
    if (value?.t !== 'value' && value?.t !== 'name')
      unparsable(`expected a value after \`${op.v}\`, found ${describe(value)}`);
    if (peek()?.t === 'op') unparsable('chained comparisons are not supported');
    return { [tok.v]: { [COMPARISONS[op.v]!]: value.v } };
  };

  const result = orExpr();
  unsupported(peek());
  if (pos < tokens.length) unparsable(`unexpected ${describe(peek())}`);
  return result;
}
