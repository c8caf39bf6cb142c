// The health check expression language (`hcexpr` / `health.expect`): a small grammar over the
// probe's answer, not Apache's whole ap_expr. It also reads the forms most Apache configs use
// (`%{REQUEST_STATUS} =~ /^[23]/`, `hc('body') !~ /maintenance/`), so converted configs keep working.
// Pure: parsing and evaluation only.
//
//   expr    := or
//   or      := and (("or" | "||") and)*
//   and     := not (("and" | "&&") not)*
//   not     := ("!" | "not") not | atom
//   atom    := "(" expr ")" | "{" expr "}" | "true" | "false" | status-test | body-test
//   status-test := STATUS ( CODE ["-" CODE] | CLASS | ("in" | "-in") list
//                         | CMP CODE | "=~" REGEX | "!~" REGEX )
//   list    := ["{"] item ("," item)* ["}"]      item := CODE ["-" CODE] | CLASS
//   body-test   := BODY ( ["!"]"contains" STRING | "matches" (REGEX | STRING) | "=~" REGEX | "!~" REGEX )
//   STATUS  := "status" | "%{REQUEST_STATUS}"      BODY := "body" | "hc('body')"
//   CMP     := "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"
//   CODE    := 100..599, bare or quoted        CLASS := 1xx .. 5xx
//   STRING  := "…" or '…' (backslash escapes)   REGEX := /…/ with optional flags i, m, s

/** What a health expression looks at: the probe's answer. */
export interface HealthAnswer {
  /** HTTP status code; undefined when there was no HTTP answer. */
  status?: number;
  /** The start of the response body (empty when it was not read). */
  body: string;
}

export type HealthExprNode =
  | { kind: 'const'; value: boolean }
  | { kind: 'not'; expr: HealthExprNode }
  | { kind: 'and' | 'or'; left: HealthExprNode; right: HealthExprNode }
  | { kind: 'status-in'; ranges: [number, number][] }
  | { kind: 'status-cmp'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; value: number }
  | { kind: 'status-match'; re: RegExp; negate: boolean }
  | { kind: 'body-contains'; text: string; negate: boolean }
  | { kind: 'body-match'; re: RegExp; negate: boolean };

export interface HealthExpr {
  /** The text the expression was parsed from. */
  readonly source: string;
  readonly ast: HealthExprNode;
  /** True when the expression looks at the body, so probes know to read it. */
  readonly usesBody: boolean;
  test(answer: HealthAnswer): boolean;
}

/** A syntax error, with the column (1-based) where it was found. */
export class HealthExprError extends Error {
  readonly code = 'ERR_STICKYLB_HEALTH_EXPR';
  constructor(
    readonly reason: string,
    readonly column: number,
    readonly source: string,
  ) {
    super(`${reason} at column ${column} of ${JSON.stringify(source)}`);
    this.name = 'HealthExprError';
  }
}

/** The expression used when none is configured: 2xx and 3xx answers pass, as in Apache. */
export const DEFAULT_HEALTH_EXPR = 'status 200-399';

const CMP_WORDS: Record<string, '==' | '!=' | '<' | '<=' | '>' | '>='> = {
  '-eq': '==',
  '-ne': '!=',
  '-lt': '<',
  '-le': '<=',
  '-gt': '>',
  '-ge': '>=',
};

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): HealthExprNode {
    this.skipSpace();
    if (this.pos >= this.src.length) this.fail('empty expression: expected a status or body test');
    const node = this.parseOr();
    this.skipSpace();
    if (this.pos < this.src.length) this.fail(`unexpected ${this.describeNext()}: expected "and", "or" or the end`);
    return node;
  }

  private parseOr(): HealthExprNode {
    let left = this.parseAnd();
    while (this.eatWord('or') || this.eatSymbol('||')) left = { kind: 'or', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): HealthExprNode {
    let left = this.parseNot();
    while (this.eatWord('and') || this.eatSymbol('&&')) left = { kind: 'and', left, right: this.parseNot() };
    return left;
  }

  private parseNot(): HealthExprNode {
    this.skipSpace();
    // `!~` belongs to a test, never to negation; here `!` is only negation when not followed by `~`.
    if ((this.peek() === '!' && this.src[this.pos + 1] !== '~' && this.src[this.pos + 1] !== '=') || this.peekWord('not')) {
      if (this.peek() === '!') this.pos++;
      else this.eatWord('not');
      return { kind: 'not', expr: this.parseNot() };
    }
    return this.parseAtom();
  }

  private parseAtom(): HealthExprNode {
    this.skipSpace();
    const c = this.peek();
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      const open = this.pos;
      this.pos++;
      const inner = this.parseOr();
      this.skipSpace();
      if (this.peek() !== close) {
        this.fail(`expected "${close}" to close the "${c}" at column ${open + 1}, found ${this.describeNext()}`);
      }
      this.pos++;
      return inner;
    }
    if (this.eatWord('true')) return { kind: 'const', value: true };
    if (this.eatWord('false')) return { kind: 'const', value: false };
    if (this.eatWord('status') || this.eatSymbol('%{REQUEST_STATUS}')) return this.parseStatusTest();
    if (this.eatWord('body') || this.eatSymbol("hc('body')") || this.eatSymbol('hc("body")')) return this.parseBodyTest();
    if (this.pos >= this.src.length) this.fail('unexpected end: expected a status or body test');
    return this.fail(`unexpected ${this.describeNext()}: expected "status …", "body …", "!", "(" , "true" or "false"`);
  }

  private parseStatusTest(): HealthExprNode {
    this.skipSpace();
    if (this.eatWord('in') || this.eatWord('-in')) return { kind: 'status-in', ranges: this.parseList() };
    if (this.eatSymbol('=~')) return { kind: 'status-match', re: this.parseRegex(), negate: false };
    if (this.eatSymbol('!~')) return { kind: 'status-match', re: this.parseRegex(), negate: true };
    for (const op of ['==', '!=', '<=', '>=', '<', '>', '='] as const) {
      if (this.eatSymbol(op)) return { kind: 'status-cmp', op: op === '=' ? '==' : op, value: this.parseCode() };
    }
    for (const [word, op] of Object.entries(CMP_WORDS)) {
      if (this.eatWord(word)) return { kind: 'status-cmp', op, value: this.parseCode() };
    }
    if (/[0-9'"]/.test(this.peek())) return { kind: 'status-in', ranges: [this.parseItem()] };
    return this.fail(
      `unexpected ${this.describeNext()} after "status": expected a code (200), a range (200-399), a class (2xx), "in LIST", a comparison (< 400) or "=~ /regex/"`,
    );
  }

  private parseBodyTest(): HealthExprNode {
    this.skipSpace();
    if (this.eatWord('contains')) return { kind: 'body-contains', text: this.parseString(), negate: false };
    const save = this.pos;
    if (this.eatSymbol('!')) {
      if (this.eatWord('contains')) return { kind: 'body-contains', text: this.parseString(), negate: true };
      this.pos = save;
    }
    if (this.eatWord('matches')) {
      this.skipSpace();
      const re = this.peek() === '/' ? this.parseRegex() : this.regexFromString();
      return { kind: 'body-match', re, negate: false };
    }
    if (this.eatSymbol('=~')) return { kind: 'body-match', re: this.parseRegex(), negate: false };
    if (this.eatSymbol('!~')) return { kind: 'body-match', re: this.parseRegex(), negate: true };
    return this.fail(`unexpected ${this.describeNext()} after "body": expected contains "TEXT", matches /REGEX/, =~ /REGEX/ or !~ /REGEX/`);
  }

  private parseList(): [number, number][] {
    this.skipSpace();
    const braced = this.eatSymbol('{');
    const out = [this.parseItem()];
    while (this.eatSymbol(',')) out.push(this.parseItem());
    if (braced && !this.eatSymbol('}')) this.fail(`expected "}" to close the list, found ${this.describeNext()}`);
    return out;
  }

  private parseItem(): [number, number] {
    this.skipSpace();
    const start = this.pos;
    const cls = /^(['"]?)([1-5])xx\1(?![A-Za-z0-9_])/i.exec(this.src.slice(this.pos));
    if (cls) {
      this.pos += cls[0].length;
      const base = Number(cls[2]) * 100;
      return [base, base + 99];
    }
    const lo = this.parseCode();
    this.skipSpace();
    if (this.peek() === '-' && /\d/.test(this.src[this.pos + 1] ?? '')) {
      this.pos++;
      const hi = this.parseCode();
      if (hi < lo) this.fail(`status range ${lo}-${hi} is empty: the first code must not be above the second`, start);
      return [lo, hi];
    }
    return [lo, lo];
  }

  private parseCode(): number {
    this.skipSpace();
    const start = this.pos;
    const m = /^(['"]?)(\d+)\1/.exec(this.src.slice(this.pos));
    if (!m) return this.fail(`expected a status code, found ${this.describeNext()}`);
    const n = Number(m[2]);
    if (!(n >= 100 && n <= 599)) this.fail(`status code ${m[2]} is out of range 100..599`, start);
    this.pos += m[0].length;
    return n;
  }

  private parseString(): string {
    this.skipSpace();
    const q = this.peek();
    if (q !== '"' && q !== "'") return this.fail(`expected a quoted string ("…" or '…'), found ${this.describeNext()}`);
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.src[this.pos++];
      if (c === q) return out;
      if (c === '\\' && this.pos < this.src.length) out += this.src[this.pos++];
      else out += c;
    }
    return this.fail('unterminated string', start);
  }

  private parseRegex(): RegExp {
    this.skipSpace();
    if (this.peek() !== '/') return this.fail(`expected a regular expression /…/, found ${this.describeNext()}`);
    const start = this.pos;
    this.pos++;
    let body = '';
    let closed = false;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos++];
      if (c === '\\' && this.pos < this.src.length) {
        body += c + this.src[this.pos++];
      } else if (c === '/') {
        closed = true;
        break;
      } else body += c;
    }
    if (!closed) this.fail('unterminated regular expression', start);
    const flags = /^[ims]*/.exec(this.src.slice(this.pos))![0];
    this.pos += flags.length;
    return this.makeRegex(body, flags, start);
  }

  private regexFromString(): RegExp {
    const start = this.pos;
    return this.makeRegex(this.parseString(), '', start);
  }

  private makeRegex(body: string, flags: string, start: number): RegExp {
    try {
      return new RegExp(body, flags);
    } catch (e) {
      return this.fail(`invalid regular expression /${body}/: ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')}`, start);
    }
  }

  // ---- Scanning ----

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++;
  }

  private peek(): string {
    return this.src[this.pos] ?? '';
  }

  private peekSymbol(s: string): boolean {
    this.skipSpace();
    return this.src.startsWith(s, this.pos);
  }

  private eatSymbol(s: string): boolean {
    if (!this.peekSymbol(s)) return false;
    this.pos += s.length;
    return true;
  }

  private peekWordAt(at: number, word: string): boolean {
    const slice = this.src.slice(at, at + word.length);
    if (slice.toLowerCase() !== word) return false;
    return !/[A-Za-z0-9_-]/.test(this.src[at + word.length] ?? '');
  }

  private peekWord(word: string): boolean {
    this.skipSpace();
    return this.peekWordAt(this.pos, word);
  }

  private eatWord(word: string): boolean {
    if (!this.peekWord(word)) return false;
    this.pos += word.length;
    return true;
  }

  private describeNext(): string {
    this.skipSpace();
    if (this.pos >= this.src.length) return 'end of expression';
    const m = /^([A-Za-z0-9_%{}'"-]+|.)/.exec(this.src.slice(this.pos))!;
    return JSON.stringify(m[1]);
  }

  private fail(reason: string, at = this.pos): never {
    throw new HealthExprError(reason, at + 1, this.src);
  }
}

/** Parses an expression; throws HealthExprError with the column of the first problem. */
export function parseHealthExpr(source: string): HealthExprNode {
  return new Parser(source).parse();
}

function usesBody(n: HealthExprNode): boolean {
  switch (n.kind) {
    case 'body-contains':
    case 'body-match':
      return true;
    case 'not':
      return usesBody(n.expr);
    case 'and':
    case 'or':
      return usesBody(n.left) || usesBody(n.right);
    default:
      return false;
  }
}

export function evaluateHealthExpr(n: HealthExprNode, a: HealthAnswer): boolean {
  switch (n.kind) {
    case 'const':
      return n.value;
    case 'not':
      return !evaluateHealthExpr(n.expr, a);
    case 'and':
      return evaluateHealthExpr(n.left, a) && evaluateHealthExpr(n.right, a);
    case 'or':
      return evaluateHealthExpr(n.left, a) || evaluateHealthExpr(n.right, a);
    case 'status-in':
      return a.status !== undefined && n.ranges.some(([lo, hi]) => a.status! >= lo && a.status! <= hi);
    case 'status-cmp': {
      const s = a.status;
      if (s === undefined) return false;
      switch (n.op) {
        case '==':
          return s === n.value;
        case '!=':
          return s !== n.value;
        case '<':
          return s < n.value;
        case '<=':
          return s <= n.value;
        case '>':
          return s > n.value;
        case '>=':
          return s >= n.value;
      }
      return false;
    }
    case 'status-match':
      return a.status !== undefined && n.re.test(String(a.status)) !== n.negate;
    case 'body-contains':
      return a.body.includes(n.text) !== n.negate;
    case 'body-match':
      return n.re.test(a.body) !== n.negate;
  }
}

/** Parses an expression (the default one when `source` is empty) into a reusable test. */
export function compileHealthExpr(source?: string): HealthExpr {
  const text = source?.trim() ? source : DEFAULT_HEALTH_EXPR;
  const ast = parseHealthExpr(text);
  return {
    source: text,
    ast,
    usesBody: usesBody(ast),
    test: (answer) => evaluateHealthExpr(ast, answer),
  };
}

/**
 * Checks an `expect` setting: an expression, or the name of one in `healthExpressions`. Returns
 * the problem in words, or undefined when it is fine.
 */
export function checkHealthExpect(text: string, named: Record<string, string> = {}): string | undefined {
  const source = Object.prototype.hasOwnProperty.call(named, text) ? named[text] : text;
  try {
    parseHealthExpr(source);
    return undefined;
  } catch (e) {
    if (!(e instanceof HealthExprError)) throw e;
    if (source === text && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(text.trim()) && !/^(true|false|status|body|not)$/i.test(text.trim())) {
      const names = Object.keys(named);
      return `${JSON.stringify(text)} is neither a health expression nor the name of one in healthExpressions (defined: ${names.join(', ') || 'none'})`;
    }
    return source === text ? e.message : `healthExpressions.${text}: ${e.message}`;
  }
}
