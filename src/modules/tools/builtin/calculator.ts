/**
 * Arithmetic for the `calculator` tool: a small recursive-descent parser, never `eval`.
 * Numbers (1, 2.5, .5, 1e-3), + - * / % ^ (or **), parentheses, unary signs, the constants pi
 * and e, and sqrt abs sin cos tan asin acos atan ln log log2 log10 exp floor ceil round min max
 * pow. `^` binds right to left and tighter than a sign (-2^2 = -4), as in mathematics.
 */

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };
const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...args: number[]) => number }> = {
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  abs: { arity: [1, 1], fn: Math.abs },
  sin: { arity: [1, 1], fn: Math.sin },
  cos: { arity: [1, 1], fn: Math.cos },
  tan: { arity: [1, 1], fn: Math.tan },
  asin: { arity: [1, 1], fn: Math.asin },
  acos: { arity: [1, 1], fn: Math.acos },
  atan: { arity: [1, 1], fn: Math.atan },
  ln: { arity: [1, 1], fn: Math.log },
  log: { arity: [1, 2], fn: (x, base) => (base === undefined ? Math.log10(x) : Math.log(x) / Math.log(base)) },
  log2: { arity: [1, 1], fn: Math.log2 },
  log10: { arity: [1, 1], fn: Math.log10 },
  exp: { arity: [1, 1], fn: Math.exp },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  round: { arity: [1, 1], fn: Math.round },
  min: { arity: [1, 64], fn: Math.min },
  max: { arity: [1, 64], fn: Math.max },
  pow: { arity: [2, 2], fn: Math.pow },
};
const MAX_LENGTH = 1_000;
const MAX_DEPTH = 64;

/** Why an expression cannot be evaluated, with the position it was read to. */
export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

type Token = { kind: 'number'; value: number; at: number } | { kind: 'name'; value: string; at: number } | { kind: 'op'; value: string; at: number };

/** The value of `expression`, or an ExpressionError saying what is wrong with it. */
export function evaluate(expression: string): number {
  if (expression.length > MAX_LENGTH) throw new ExpressionError(`The expression is longer than ${MAX_LENGTH} characters.`);
  const parser = new Parser(tokenize(expression));
  const value = parser.parse();
  if (!Number.isFinite(value)) throw new ExpressionError('The result is not a finite number (a division by zero, or out of range).');
  return value;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/%^(),]))/y;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new ExpressionError(`Unexpected character '${text.slice(at).trimStart()[0]}' at position ${at + 1}.`);
    const start = match.index + match[0].length - (match[1] ?? match[2] ?? match[3]).length;
    if (match[1] !== undefined) tokens.push({ kind: 'number', value: Number(match[1]), at: start });
    else if (match[2] !== undefined) tokens.push({ kind: 'name', value: match[2].toLowerCase(), at: start });
    else tokens.push({ kind: 'op', value: match[3] === '**' ? '^' : match[3], at: start });
    at = pattern.lastIndex;
  }
  if (!tokens.length) throw new ExpressionError('The expression is empty.');
  return tokens;
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    const value = this.sum();
    const extra = this.tokens[this.i];
    if (extra) throw new ExpressionError(`Unexpected '${extra.value}' at position ${extra.at + 1}.`);
    return value;
  }

  private sum(): number {
    let value = this.product();
    for (let op = this.peekOp('+', '-'); op; op = this.peekOp('+', '-')) {
      this.i++;
      const right = this.product();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  }

  private product(): number {
    let value = this.unary();
    for (let op = this.peekOp('*', '/', '%'); op; op = this.peekOp('*', '/', '%')) {
      this.i++;
      const right = this.unary();
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  }

  private unary(): number {
    const op = this.peekOp('+', '-');
    if (op) {
      this.i++;
      return this.nested(() => (op === '-' ? -this.unary() : this.unary()));
    }
    return this.power();
  }

  private power(): number {
    const base = this.atom();
    if (!this.peekOp('^')) return base;
    this.i++;
    // Right-associative, and the exponent may carry its own sign (2^-1).
    return base ** this.nested(() => this.unary());
  }

  private atom(): number {
    const token = this.tokens[this.i];
    if (!token) throw new ExpressionError('The expression ends too early.');
    this.i++;
    if (token.kind === 'number') return token.value;
    if (token.kind === 'op') {
      if (token.value !== '(') throw new ExpressionError(`Unexpected '${token.value}' at position ${token.at + 1}.`);
      const value = this.nested(() => this.sum());
      this.expect(')');
      return value;
    }
    if (this.peekOp('(')) return this.call(token);
    if (token.value in CONSTANTS) return CONSTANTS[token.value];
    throw new ExpressionError(`Unknown name '${token.value}' at position ${token.at + 1}.`);
  }

  private call(name: Token): number {
    const spec = FUNCTIONS[name.value as string];
    if (!spec) throw new ExpressionError(`Unknown function '${name.value}' at position ${name.at + 1}.`);
    this.expect('(');
    const args: number[] = [];
    if (!this.peekOp(')')) {
      do {
        args.push(this.nested(() => this.sum()));
      } while (this.peekOp(',') && ++this.i);
    }
    this.expect(')');
    const [least, most] = spec.arity;
    if (args.length < least || args.length > most) {
      const wanted = least === most ? `${least}` : `${least} to ${most}`;
      throw new ExpressionError(`${name.value}() takes ${wanted} argument${most === 1 ? '' : 's'}, not ${args.length}.`);
    }
    return spec.fn(...args);
  }

  private nested(read: () => number): number {
    if (++this.depth > MAX_DEPTH) throw new ExpressionError(`The expression nests deeper than ${MAX_DEPTH} levels.`);
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  private peekOp(...ops: string[]): string | null {
    const token = this.tokens[this.i];
    return token?.kind === 'op' && ops.includes(token.value) ? token.value : null;
  }

  private expect(op: string): void {
    const token = this.tokens[this.i];
    if (token?.kind !== 'op' || token.value !== op) {
      throw new ExpressionError(token ? `Expected '${op}' at position ${token.at + 1}, found '${token.value}'.` : `Expected '${op}' at the end.`);
    }
    this.i++;
  }
}
