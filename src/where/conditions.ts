// A `where` filter as conditions: comparisons of one field with a value of
// that field's own kind under and/or/not, with what Mongo's rules decide
// without looking at a ticket already folded into constants.
import { type Column, columnOf, type Dataset } from '../dataset.ts';
import { parseHttpDate } from '../dates.ts';
import { isObject, type Json, type JsonObject, unparsable } from './json.ts';
import type { Where } from './parse.ts';

export type Comparison = 'eq' | 'gt' | 'gte' | 'lt' | 'lte';

/**
 * A filter as comparisons of one field with a value of that field's own kind
 * (customer names folded, dates in epoch seconds) under and/or/not. What
 * Mongo's rules decide without looking at a ticket (a field no ticket has, an
 * operand of another type, `$exists`) is already a constant here, so both the
 * scan (scan.ts) and the index planner see only comparisons they can answer.
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
