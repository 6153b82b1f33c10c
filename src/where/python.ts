// Eve's Python-style `where` expressions (`status == "Open" and customer >
// "M"`): tokenized and parsed into the Mongo-style JSON filter they mean.
import { type JsonObject, unparsable } from './json.ts';

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

export function parsePython(text: string): JsonObject {
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
