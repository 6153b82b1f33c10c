// Test helper: Argo Rollouts' successCondition/failureCondition, evaluated the
// way its analysis controller does (utils/evaluate in argo-rollouts): the
// condition is an expr-lang expression over `result`, and the pair of
// conditions decides the measurement's phase.
//
// Only the part of expr-lang that conditions on a Prometheus result need is
// implemented: numbers, strings, booleans, nil, `result`, indexing (negative
// from the end), calls of len/isNaN/isInf/asFloat/asInt/isNil/default,
// unary ! not -, arithmetic, comparisons, and && || and or with
// short-circuit, at expr-lang's precedences. Values follow Go: numbers are
// float64, so a comparison with NaN is false; an index out of range is a
// runtime error. Anything else is refused with a message, so a condition
// this evaluator cannot judge fails its test instead of being misjudged.

export type Value = number | string | boolean | null | Value[];

/** What a provider measured: a Prometheus vector or matrix is an array of floats, a scalar one float. */
export type Result = number | number[];

export type Phase = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

type Token =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'name'; value: string }
  | { kind: 'op'; value: string }
  | { kind: 'end' };

const OPERATORS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '!', '+', '-', '*', '/', '%', '(', ')', '[', ']', ','];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const number = /^(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?)/i.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_$][\w$]*/.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const end = rest.indexOf(quote, 1);
      if (end < 0) throw new Error(`unterminated string at ${i}`);
      tokens.push({ kind: 'string', value: rest.slice(1, end) });
      i += end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new Error(`unsupported character ${JSON.stringify(rest[0])} at ${i}`);
    tokens.push({ kind: 'op', value: op });
    i += op.length;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

type Node =
  | { type: 'literal'; value: Value }
  | { type: 'name'; name: string }
  | { type: 'index'; target: Node; index: Node }
  | { type: 'call'; name: string; args: Node[] }
  | { type: 'unary'; op: string; operand: Node }
  | { type: 'binary'; op: string; left: Node; right: Node };

// expr-lang's binary precedences (parser/operator): higher binds tighter.
const PRECEDENCE: Record<string, number> = {
  '||': 10,
  or: 10,
  '&&': 15,
  and: 15,
  '==': 20,
  '!=': 20,
  '<': 20,
  '>': 20,
  '<=': 20,
  '>=': 20,
  '+': 30,
  '-': 30,
  '*': 60,
  '/': 60,
  '%': 60,
};
const CANONICAL: Record<string, string> = { or: '||', and: '&&', not: '!' };

function parse(source: string): Node {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token => tokens[position] as Token;
  const next = (): Token => tokens[position++] as Token;
  const isOp = (token: Token, value: string): boolean =>
    (token.kind === 'op' || token.kind === 'name') && token.value === value;
  const expect = (value: string): void => {
    const token = next();
    if (!isOp(token, value)) throw new Error(`expected ${value} in ${JSON.stringify(source)}`);
  };

  const binaryOperator = (token: Token): string | undefined => {
    if (token.kind !== 'op' && token.kind !== 'name') return undefined;
    return token.value in PRECEDENCE ? token.value : undefined;
  };

  const primary = (): Node => {
    const token = next();
    if (token.kind === 'number' || token.kind === 'string') return { type: 'literal', value: token.value };
    if (token.kind === 'op' && token.value === '(') {
      const inner = expression(0);
      expect(')');
      return inner;
    }
    if (token.kind === 'op' && (token.value === '!' || token.value === '-' || token.value === '+'))
      return { type: 'unary', op: token.value, operand: unary() };
    if (token.kind === 'name') {
      if (token.value === 'not') return { type: 'unary', op: '!', operand: unary() };
      if (token.value === 'true' || token.value === 'false') return { type: 'literal', value: token.value === 'true' };
      if (token.value === 'nil') return { type: 'literal', value: null };
      if (isOp(peek(), '(')) {
        next();
        const args: Node[] = [];
        if (!isOp(peek(), ')')) {
          for (;;) {
            args.push(expression(0));
            if (!isOp(peek(), ',')) break;
            next();
          }
        }
        expect(')');
        return { type: 'call', name: token.value, args };
      }
      return { type: 'name', name: token.value };
    }
    throw new Error(
      `unexpected ${token.kind === 'end' ? 'end' : JSON.stringify(token.value)} in ${JSON.stringify(source)}`,
    );
  };

  const unary = (): Node => {
    let node = primary();
    while (isOp(peek(), '[')) {
      next();
      const index = expression(0);
      expect(']');
      node = { type: 'index', target: node, index };
    }
    return node;
  };

  const expression = (minimum: number): Node => {
    let left = unary();
    for (;;) {
      const op = binaryOperator(peek());
      if (op === undefined || (PRECEDENCE[op] ?? 0) <= minimum) break;
      next();
      const right = expression(PRECEDENCE[op] ?? 0);
      left = { type: 'binary', op: CANONICAL[op] ?? op, left, right };
    }
    return left;
  };

  const tree = expression(0);
  if (peek().kind !== 'end')
    throw new Error(`unexpected ${JSON.stringify((peek() as { value: string }).value)} in ${JSON.stringify(source)}`);
  return tree;
}

const isNumber = (v: Value): v is number => typeof v === 'number';

function number(v: Value, what: string): number {
  if (!isNumber(v)) throw new Error(`${what}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function evaluate(node: Node, env: Record<string, Value>, resultIsNil: boolean): Value {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'name':
      if (!(node.name in env)) throw new Error(`unknown name ${node.name}`);
      return env[node.name] as Value;
    case 'index': {
      const target = evaluate(node.target, env, resultIsNil);
      const index = number(evaluate(node.index, env, resultIsNil), 'index');
      if (!Array.isArray(target)) throw new Error(`cannot index ${JSON.stringify(target)}`);
      const at = index < 0 ? target.length + index : index;
      if (!Number.isInteger(at) || at < 0 || at >= target.length)
        throw new Error(`index out of range: ${index} (array of length ${target.length})`);
      return target[at] as Value;
    }
    case 'call': {
      const args = node.args.map((a) => evaluate(a, env, resultIsNil));
      const [first, second] = args;
      switch (node.name) {
        case 'len':
          if (Array.isArray(first) || typeof first === 'string') return first.length;
          throw new Error(`invalid argument for len (type ${typeof first})`);
        case 'isNaN':
          return Number.isNaN(number(first ?? null, 'isNaN'));
        case 'isInf': {
          const n = number(first ?? null, 'isInf');
          return n === Infinity || n === -Infinity;
        }
        case 'asFloat':
        case 'asInt': {
          const n = typeof first === 'string' ? Number(first) : number(first ?? null, node.name);
          if (Number.isNaN(n) && typeof first === 'string') throw new Error(`${node.name}: cannot parse ${first}`);
          return node.name === 'asInt' ? Math.trunc(n) : n;
        }
        // Argo binds isNil and default to the whole result, whatever is passed.
        case 'isNil':
          return resultIsNil;
        case 'default':
          return resultIsNil ? (second ?? null) : (env.result as Value);
        default:
          throw new Error(`unsupported function ${node.name}`);
      }
    }
    case 'unary': {
      const operand = evaluate(node.operand, env, resultIsNil);
      if (node.op === '!') {
        if (typeof operand !== 'boolean') throw new Error(`invalid operation: ! ${JSON.stringify(operand)}`);
        return !operand;
      }
      const n = number(operand, `unary ${node.op}`);
      return node.op === '-' ? -n : n;
    }
    case 'binary': {
      if (node.op === '&&' || node.op === '||') {
        const left = evaluate(node.left, env, resultIsNil);
        if (typeof left !== 'boolean') throw new Error(`invalid operation: ${JSON.stringify(left)} ${node.op} ...`);
        if (node.op === '&&' ? !left : left) return left;
        const right = evaluate(node.right, env, resultIsNil);
        if (typeof right !== 'boolean') throw new Error(`invalid operation: ... ${node.op} ${JSON.stringify(right)}`);
        return right;
      }
      const left = evaluate(node.left, env, resultIsNil);
      const right = evaluate(node.right, env, resultIsNil);
      if (node.op === '==') return left === right;
      if (node.op === '!=') return left !== right;
      if (typeof left === 'string' && typeof right === 'string' && ['<', '>', '<=', '>='].includes(node.op)) {
        return compare(node.op, left, right);
      }
      const a = number(left, node.op);
      const b = number(right, node.op);
      switch (node.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        case '%':
          return a % b;
        default:
          return compare(node.op, a, b);
      }
    }
  }
}

function compare<T extends number | string>(op: string, a: T, b: T): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

/** Parses a condition without evaluating it: throws on syntax this evaluator does not support. */
export function checkCondition(condition: string): void {
  parse(condition);
}

/** evaluate.EvalCondition: the condition's value for this result; throws on an evaluation error. */
export function evalCondition(result: Result | null, condition: string): boolean {
  // Go's isNil: an empty vector is an empty slice, not nil.
  const resultIsNil = result === null;
  const env: Record<string, Value> = { result: result ?? null };
  const value = evaluate(parse(condition), env, resultIsNil);
  if (typeof value !== 'boolean') throw new Error(`expected bool, but got ${typeof value}`);
  return value;
}

export interface Conditions {
  successCondition?: string;
  failureCondition?: string;
}

export interface Verdict {
  phase: Phase;
  /** Why it is an Error, as Argo words it. */
  message?: string;
}

/** evaluate.EvaluateResult: the measurement's phase from its conditions. */
export function evaluateResult(result: Result | null, metric: Conditions): Verdict {
  const { successCondition = '', failureCondition = '' } = metric;
  const holds = { successCondition: false, failureCondition: false };
  for (const key of ['successCondition', 'failureCondition'] as const) {
    const condition = metric[key];
    if (!condition) continue;
    try {
      holds[key] = evalCondition(result, condition);
    } catch (error) {
      return { phase: 'Error', message: `could not evaluate ${key} "${condition}": ${(error as Error).message}` };
    }
  }
  let success = holds.successCondition;
  let failure = holds.failureCondition;
  if (!successCondition && !failureCondition) return { phase: 'Successful' };
  // Without a failure condition a measurement fails when it does not succeed, and vice versa.
  if (!failureCondition) failure = !success;
  if (!successCondition) success = !failure;
  if (failure) return { phase: 'Failed' };
  if (!success) return { phase: 'Inconclusive' };
  return { phase: 'Successful' };
}
