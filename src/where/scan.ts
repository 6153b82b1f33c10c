// The scan: whether one ticket matches a condition, by reading its values.
import { columnOf, type Dataset } from '../dataset.ts';
import { compareCodePoints } from '../strings.ts';
import { type Condition, conditionOf } from './conditions.ts';
import type { Where } from './parse.ts';

export type Predicate = (index: number) => boolean;

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
