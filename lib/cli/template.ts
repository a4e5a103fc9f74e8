/**
 * A subset of Go's text/template for `--format` on `inspect`, `images` and `containers`, with the
 * functions buildah's templates get (containers/common `formats`: json, split, join, title, lower, upper,
 * pad, truncate) and Go's built-ins (and, or, not, len, index, slice, print, printf, println, eq, ne, lt,
 * le, gt, ge).
 *
 * Supported: literal text; `{{pipeline}}`; fields and chains (`.A.B`, `$x.A`, `(pipeline).A`); variables
 * (`$`, `$x := ...`, `$x = ...`); string, raw-string, character, number, boolean and nil constants;
 * pipelines with `|`; `if`/`else if`/`else`, `with`/`else with`/`else`, `range` (with `$i, $e :=` and
 * `else`), `break`, `continue`, `end`; comments `{{/* ... *\/}}`; trim markers `{{- ` and ` -}}`.
 * Not supported: `define`, `template`, `block`, and calling methods.
 *
 * Data is JSON-like: objects are printed as Go maps (`map[k:v]`, keys sorted; an empty object nested in
 * another value prints as `{}`, the way the `struct{}` values of ExposedPorts and Volumes do), arrays as
 * `[a b]`, a missing field or null as `<no value>` (`<nil>` inside a collection or a print function), and
 * whole numbers as integers. A field of an object that is missing yields "no value" rather than an error.
 *
 * The literal two-character sequences `\t` and `\n` in the text parts of the format become a tab and a
 * newline, as buildah accepts them from the shell.
 *
 * Malformed templates and errors while executing throw UsageError with "line:column".
 */
import { UsageError } from '../errors.js';

// ---------------------------------------------------------------------------------------------------------
// Lexing

type Tok =
  | { t: 'field'; name: string; pos: number; sp: boolean }
  | { t: 'dot'; pos: number; sp: boolean }
  | { t: 'var'; name: string; pos: number; sp: boolean }
  | { t: 'ident'; name: string; pos: number; sp: boolean }
  | { t: 'string'; value: string; pos: number; sp: boolean }
  | { t: 'number'; value: number; text: string; pos: number; sp: boolean }
  | { t: '(' | ')' | '|' | ':=' | '=' | ','; pos: number; sp: boolean }
  | { t: 'eof'; pos: number; sp: boolean };

type Item = { kind: 'text'; value: string; pos: number } | { kind: 'action'; toks: Tok[]; pos: number; src: string };

class TemplateSyntaxError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(message);
  }
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && c !== '' && /[\p{L}\p{N}_]/u.test(c);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** The text escapes buildah users pass from the shell. */
function unescapeText(s: string): string {
  return s.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function lex(src: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos <= src.length) {
    const open = src.indexOf('{{', pos);
    const textEnd = open < 0 ? src.length : open;
    let text = unescapeText(src.slice(pos, textEnd));
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text !== '') items.push({ kind: 'text', value: text, pos });
      break;
    }
    let p = open + 2;
    if (src[p] === '-' && isSpace(src[p + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      p += 2;
    }
    if (text !== '') items.push({ kind: 'text', value: text, pos });

    if (src.startsWith('/*', p)) {
      const close = src.indexOf('*/', p + 2);
      if (close < 0) throw new TemplateSyntaxError(open, 'unclosed comment');
      const q = close + 2;
      if (src.startsWith('}}', q)) {
        pos = q + 2;
      } else if (isSpace(src[q]) && src[q + 1] === '-' && src.startsWith('}}', q + 2)) {
        pos = q + 4;
        trimNext = true;
      } else {
        throw new TemplateSyntaxError(open, 'comment ends before closing delimiter');
      }
      continue;
    }

    const { toks, end, trim } = lexAction(src, p, open);
    items.push({ kind: 'action', toks, pos: open, src: src.slice(open, end) });
    trimNext = trim;
    pos = end;
  }
  return items;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Reads a Go quoted string or character literal starting at src[p] (the quote); returns the value and the end. */
function lexQuoted(src: string, p: number, quote: '"' | "'"): { value: string; end: number } {
  let out = '';
  let i = p + 1;
  for (;;) {
    const c = src[i];
    if (c === undefined || c === '\n') throw new TemplateSyntaxError(p, quote === '"' ? 'unterminated quoted string' : 'unterminated character constant');
    if (c === quote) return { value: out, end: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e !== undefined && SIMPLE_ESCAPES[e] !== undefined) {
      out += SIMPLE_ESCAPES[e];
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = src.slice(i + 2, i + 2 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw new TemplateSyntaxError(i, 'invalid syntax in quoted string');
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new TemplateSyntaxError(i, 'invalid syntax in quoted string');
      out += String.fromCodePoint(code);
      i += 2 + hexLen;
      continue;
    }
    if (e !== undefined && e >= '0' && e <= '7') {
      const oct = src.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) throw new TemplateSyntaxError(i, 'invalid syntax in quoted string');
      out += String.fromCharCode(parseInt(oct, 8));
      i += 4;
      continue;
    }
    throw new TemplateSyntaxError(i, 'invalid syntax in quoted string');
  }
}

const NUMBER_RE = /[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)/y;

function parseNumber(text: string, pos: number): number {
  const clean = text.replace(/_/g, '');
  let sign = 1;
  let body = clean;
  if (body[0] === '+' || body[0] === '-') {
    if (body[0] === '-') sign = -1;
    body = body.slice(1);
  }
  let value: number;
  if (/^0[xX]/.test(body)) value = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) value = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) value = parseInt(body.slice(2), 2);
  else if (/^0[0-7]+$/.test(body)) value = parseInt(body, 8); // Go's legacy octal
  else value = Number(body);
  if (!Number.isFinite(value)) throw new TemplateSyntaxError(pos, `bad number syntax: "${text}"`);
  return sign * value;
}

function lexAction(src: string, start: number, open: number): { toks: Tok[]; end: number; trim: boolean } {
  const toks: Tok[] = [];
  let p = start;
  let sp = false;
  const atTerminator = (i: number): boolean => {
    const c = src[i];
    return c === undefined || isSpace(c) || '.,|:()='.includes(c) || src.startsWith('}}', i);
  };
  for (;;) {
    if (p >= src.length) throw new TemplateSyntaxError(open, 'unclosed action');
    const c = src[p]!;
    if (src.startsWith('}}', p)) {
      toks.push({ t: 'eof', pos: p, sp });
      return { toks, end: p + 2, trim: false };
    }
    if (isSpace(c)) {
      if (src[p + 1] === '-' && src.startsWith('}}', p + 2)) {
        toks.push({ t: 'eof', pos: p, sp: true });
        return { toks, end: p + 4, trim: true };
      }
      p++;
      sp = true;
      continue;
    }
    const tokStart = p;
    const here = sp;
    sp = false;
    if (c === '(' || c === ')' || c === '|' || c === ',' || c === '=') {
      toks.push({ t: c, pos: p, sp: here });
      p++;
      continue;
    }
    if (c === ':') {
      if (src[p + 1] !== '=') throw new TemplateSyntaxError(p, 'expected :=');
      toks.push({ t: ':=', pos: p, sp: here });
      p += 2;
      continue;
    }
    if (c === '"') {
      const { value, end } = lexQuoted(src, p, '"');
      toks.push({ t: 'string', value, pos: p, sp: here });
      p = end;
      continue;
    }
    if (c === '`') {
      const close = src.indexOf('`', p + 1);
      if (close < 0) throw new TemplateSyntaxError(p, 'unterminated raw quoted string');
      toks.push({ t: 'string', value: src.slice(p + 1, close).replace(/\r/g, ''), pos: p, sp: here });
      p = close + 1;
      continue;
    }
    if (c === "'") {
      const { value, end } = lexQuoted(src, p, "'");
      const cps = [...value];
      if (cps.length !== 1) throw new TemplateSyntaxError(p, `malformed character constant: ${src.slice(p, end)}`);
      toks.push({ t: 'number', value: cps[0]!.codePointAt(0)!, text: src.slice(p, end), pos: p, sp: here });
      p = end;
      continue;
    }
    if (c === '$') {
      let q = p + 1;
      while (isAlnum(src[q])) q++;
      if (!atTerminator(q)) throw new TemplateSyntaxError(q, `bad character ${JSON.stringify(src[q])}`);
      toks.push({ t: 'var', name: src.slice(p, q), pos: p, sp: here });
      p = q;
      continue;
    }
    if (c === '.' && !isDigit(src[p + 1])) {
      let q = p + 1;
      while (isAlnum(src[q])) q++;
      if (!atTerminator(q)) throw new TemplateSyntaxError(q, `bad character ${JSON.stringify(src[q])}`);
      if (q === p + 1) toks.push({ t: 'dot', pos: p, sp: here });
      else toks.push({ t: 'field', name: src.slice(p + 1, q), pos: p, sp: here });
      p = q;
      continue;
    }
    if (isDigit(c) || c === '.' || ((c === '+' || c === '-') && (isDigit(src[p + 1]) || src[p + 1] === '.'))) {
      NUMBER_RE.lastIndex = p;
      const m = NUMBER_RE.exec(src);
      if (!m) throw new TemplateSyntaxError(p, 'bad number syntax');
      const q = p + m[0].length;
      if (isAlnum(src[q]) || src[q] === '.') throw new TemplateSyntaxError(p, `bad number syntax: "${src.slice(p, q + 1)}"`);
      toks.push({ t: 'number', value: parseNumber(m[0], p), text: m[0], pos: p, sp: here });
      p = q;
      continue;
    }
    if (isAlnum(c)) {
      let q = p;
      while (isAlnum(src[q])) q++;
      if (!atTerminator(q)) throw new TemplateSyntaxError(q, `bad character ${JSON.stringify(src[q])}`);
      toks.push({ t: 'ident', name: src.slice(p, q), pos: tokStart, sp: here });
      p = q;
      continue;
    }
    throw new TemplateSyntaxError(p, `unrecognized character in action: ${JSON.stringify(c)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

type Arg =
  | { k: 'field'; names: string[]; pos: number }
  | { k: 'var'; name: string; names: string[]; pos: number }
  | { k: 'dot'; pos: number }
  | { k: 'ident'; name: string; pos: number }
  | { k: 'const'; value: string | number | boolean; pos: number }
  | { k: 'nil'; pos: number }
  | { k: 'pipe'; pipe: Pipe; names: string[]; pos: number };

interface Command {
  args: Arg[];
  pos: number;
}

interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Command[];
  pos: number;
}

type Node =
  | { k: 'text'; value: string }
  | { k: 'action'; pipe: Pipe; pos: number; src: string }
  | { k: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined; pos: number; src: string }
  | { k: 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined; pos: number; src: string }
  | { k: 'break' | 'continue'; pos: number };

const MAX_NESTING = 100;

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define', 'template', 'block']);

function describeTok(t: Tok): string {
  switch (t.t) {
    case 'field':
      return `.${t.name}`;
    case 'dot':
      return '.';
    case 'var':
    case 'ident':
      return t.name;
    case 'string':
      return JSON.stringify(t.value);
    case 'number':
      return t.text;
    case 'eof':
      return '}}';
    default:
      return t.t;
  }
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  /** Nesting of parentheses and control structures, bounded so a hostile format cannot exhaust the stack. */
  private depth = 0;

  private enter(pos: number): void {
    if (++this.depth > MAX_NESTING) throw new TemplateSyntaxError(pos, `template nested more than ${MAX_NESTING} deep`);
  }

  constructor(private readonly items: Item[]) {}

  parse(): Node[] {
    const { nodes, end } = this.parseList();
    if (end) throw new TemplateSyntaxError(end.pos, `unexpected {{${end.word}}}`);
    return nodes;
  }

  /** Parses nodes up to an {{end}} or {{else}} (returned as `end`) or the end of input. */
  private parseList(): { nodes: Node[]; end?: { word: 'end' | 'else'; item: Extract<Item, { kind: 'action' }>; pos: number } } {
    const nodes: Node[] = [];
    while (this.i < this.items.length) {
      const item = this.items[this.i++]!;
      if (item.kind === 'text') {
        nodes.push({ k: 'text', value: item.value });
        continue;
      }
      const first = item.toks[0]!;
      if (first.t === 'ident' && KEYWORDS.has(first.name)) {
        switch (first.name) {
          case 'end':
            this.expectEof(item.toks, 1, 'end');
            return { nodes, end: { word: 'end', item, pos: item.pos } };
          case 'else':
            return { nodes, end: { word: 'else', item, pos: item.pos } };
          case 'if':
          case 'with':
          case 'range':
            nodes.push(this.parseControl(first.name, item, 1));
            continue;
          case 'break':
          case 'continue':
            if (this.rangeDepth === 0) throw new TemplateSyntaxError(item.pos, `{{${first.name}}} outside {{range}}`);
            this.expectEof(item.toks, 1, first.name);
            nodes.push({ k: first.name, pos: item.pos });
            continue;
          default:
            throw new TemplateSyntaxError(item.pos, `{{${first.name}}} is not supported`);
        }
      }
      const { pipe } = this.parsePipeline(item.toks, 0, 'command', false);
      nodes.push({ k: 'action', pipe, pos: item.pos, src: item.src });
    }
    return { nodes };
  }

  private expectEof(toks: Tok[], j: number, what: string): void {
    const t = toks[j]!;
    if (t.t !== 'eof') throw new TemplateSyntaxError(t.pos, `unexpected ${describeTok(t)} in ${what}`);
  }

  private parseControl(kind: 'if' | 'with' | 'range', item: Extract<Item, { kind: 'action' }>, j: number): Node {
    this.enter(item.pos);
    const mark = this.vars.length;
    const { pipe } = this.parsePipeline(item.toks, j, kind, kind === 'range');
    if (kind === 'range') this.rangeDepth++;
    const body = this.parseList();
    if (kind === 'range') this.rangeDepth--;
    if (!body.end) throw new TemplateSyntaxError(item.pos, `unexpected EOF: {{${kind}}} without {{end}}`);
    let elseList: Node[] | undefined;
    if (body.end.word === 'else') {
      const elseToks = body.end.item.toks;
      const next = elseToks[1]!;
      if (next.t === 'ident' && (next.name === 'if' || next.name === 'with') && kind !== 'range') {
        if (next.name !== kind) throw new TemplateSyntaxError(next.pos, `unexpected {{else ${next.name}}} in {{${kind}}}`);
        // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} sharing the one {{end}}.
        elseList = [this.parseControl(kind, body.end.item, 2)];
      } else {
        this.expectEof(elseToks, 1, 'else');
        const rest = this.parseList();
        if (!rest.end) throw new TemplateSyntaxError(item.pos, `unexpected EOF: {{${kind}}} without {{end}}`);
        if (rest.end.word !== 'end') throw new TemplateSyntaxError(rest.end.pos, 'expected end; found {{else}}');
        elseList = rest.nodes;
      }
    }
    this.vars.length = mark;
    this.depth--;
    const src = item.src;
    return kind === 'range' ? { k: kind, pipe, list: body.nodes, elseList, pos: item.pos, src } : { k: kind, pipe, list: body.nodes, elseList, pos: item.pos, src };
  }

  /** Parses `[decl :=] command | command ...` from toks[j], up to eof (or ')' when nested). */
  private parsePipeline(toks: Tok[], j: number, context: string, isRange: boolean, nested = false): { pipe: Pipe; next: number } {
    const pos = toks[j]!.pos;
    const decl: string[] = [];
    let assign = false;
    const t0 = toks[j]!;
    const t1 = toks[j + 1];
    if (t0.t === 'var' && t1 && (t1.t === ':=' || t1.t === '=')) {
      decl.push(t0.name);
      assign = t1.t === '=';
      j += 2;
    } else if (isRange && t0.t === 'var' && t1?.t === ',') {
      const t2 = toks[j + 2];
      const t3 = toks[j + 3];
      if (t2?.t === 'var' && t3 && (t3.t === ':=' || t3.t === '=')) {
        decl.push(t0.name, t2.name);
        assign = t3.t === '=';
        j += 4;
      } else {
        throw new TemplateSyntaxError(t1.pos, 'range can only initialize variables');
      }
    }
    if (assign) {
      for (const v of decl) if (!this.vars.includes(v)) throw new TemplateSyntaxError(pos, `undefined variable "${v}"`);
    }
    const cmds: Command[] = [];
    for (;;) {
      const r = this.parseCommand(toks, j, nested, cmds.length === 0 ? `missing value for ${context}` : 'missing command after |');
      cmds.push(r.cmd);
      j = r.next;
      if (toks[j]!.t !== '|') break;
      j++;
    }
    const end = toks[j]!;
    if (nested && end.t !== ')') throw new TemplateSyntaxError(end.pos, 'unclosed left paren');
    if (!assign) for (const v of decl) this.vars.push(v);
    return { pipe: { decl, assign, cmds, pos }, next: j };
  }

  private parseCommand(toks: Tok[], j: number, nested: boolean, ifEmpty: string): { cmd: Command; next: number } {
    const args: Arg[] = [];
    const pos = toks[j]!.pos;
    for (;;) {
      const t = toks[j]!;
      if (t.t === 'eof' || t.t === '|' || (t.t === ')' && nested)) break;
      if (args.length > 0 && !t.sp && t.t !== '(') throw new TemplateSyntaxError(t.pos, `missing space before ${describeTok(t)}`);
      const r = this.parseOperand(toks, j);
      args.push(r.arg);
      j = r.next;
    }
    if (args.length === 0) throw new TemplateSyntaxError(pos, ifEmpty);
    return { cmd: { args, pos }, next: j };
  }

  private parseOperand(toks: Tok[], j: number): { arg: Arg; next: number } {
    const t = toks[j]!;
    let arg: Arg;
    j++;
    switch (t.t) {
      case 'field':
        arg = { k: 'field', names: [t.name], pos: t.pos };
        break;
      case 'dot':
        arg = { k: 'dot', pos: t.pos };
        break;
      case 'var':
        if (!this.vars.includes(t.name)) throw new TemplateSyntaxError(t.pos, `undefined variable "${t.name}"`);
        arg = { k: 'var', name: t.name, names: [], pos: t.pos };
        break;
      case 'string':
      case 'number':
        arg = { k: 'const', value: t.value, pos: t.pos };
        break;
      case 'ident':
        if (t.name === 'true' || t.name === 'false') arg = { k: 'const', value: t.name === 'true', pos: t.pos };
        else if (t.name === 'nil') arg = { k: 'nil', pos: t.pos };
        else if (KEYWORDS.has(t.name)) throw new TemplateSyntaxError(t.pos, `unexpected <${t.name}> in command`);
        else if (!Object.hasOwn(FUNCS, t.name)) throw new TemplateSyntaxError(t.pos, `function "${t.name}" not defined`);
        else arg = { k: 'ident', name: t.name, pos: t.pos };
        break;
      case '(': {
        this.enter(t.pos);
        const r = this.parsePipeline(toks, j, 'parenthesized pipeline', false, true);
        this.depth--;
        j = r.next + 1; // past ')'
        arg = { k: 'pipe', pipe: r.pipe, names: [], pos: t.pos };
        break;
      }
      default:
        throw new TemplateSyntaxError(t.pos, `unexpected ${describeTok(t)} in operand`);
    }
    // A chain of fields written without spaces: .A.B, $x.A, (pipeline).A
    for (;;) {
      const n = toks[j]!;
      if (n.t !== 'field' || n.sp) break;
      if (arg.k === 'field' || arg.k === 'var' || arg.k === 'pipe') arg.names.push(n.name);
      else throw new TemplateSyntaxError(n.pos, `unexpected .${n.name} after term`);
      j++;
    }
    return { arg, next: j };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Values and Go formatting

/** Raised by functions; wrapped with the function name and position by the executor. */
class FuncError extends Error {}
class BreakSignal {}
class ContinueSignal {}

function isNil(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

function isMapLike(v: unknown): v is Record<string, unknown> | Map<unknown, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);
}

function mapEntries(v: Record<string, unknown> | Map<unknown, unknown>): [string, unknown][] {
  const entries: [string, unknown][] = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function asList(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  return undefined;
}

function goTypeName(v: unknown): string {
  if (isNil(v)) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int64';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (v instanceof Date) return 'time.Time';
  if (asList(v)) return '[]interface {}';
  if (typeof v === 'function') return 'func';
  return 'map[string]interface {}';
}

/** Go's %v of a float64 (strconv 'g' with the shortest precision). */
function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, expStr] = n.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${mant}e${sign}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(n);
}

function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return Object.is(n, -0) ? '0' : BigInt(n).toString();
  return goFloat(n);
}

function pad2(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's time.Time String() for a UTC time. */
function goTime(d: Date): string {
  const ms = d.getUTCMilliseconds();
  const frac = ms ? `.${pad2(ms, 3).replace(/0+$/, '')}` : '';
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** Go's %v. `nested` is true inside a collection. */
function formatValue(v: unknown, nested = false): string {
  if (isNil(v)) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return goTime(v);
  if (typeof v === 'function') return '<func>';
  const list = asList(v);
  if (list) return `[${list.map((x) => formatValue(x, true)).join(' ')}]`;
  if (isMapLike(v)) {
    const entries = mapEntries(v);
    if (entries.length === 0 && nested) return '{}';
    return `map[${entries.map(([k, x]) => `${k}:${formatValue(x, true)}`).join(' ')}]`;
  }
  return String(v);
}

/** What an action prints. */
function printValue(v: unknown): string {
  return isNil(v) ? '<no value>' : formatValue(v);
}

function isTrue(v: unknown): boolean {
  if (isNil(v)) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  const list = asList(v);
  if (list) return list.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (isMapLike(v)) return Object.keys(v).length > 0;
  return true;
}

/** `.name` on a value: maps and objects by key; missing -> undefined; nil -> undefined. */
function fieldOf(v: unknown, name: string): unknown {
  if (isNil(v)) return undefined;
  if (v instanceof Map) return v.get(name);
  if (isMapLike(v)) {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === Object.prototype || proto === null) return Object.hasOwn(v, name) ? (v as Record<string, unknown>)[name] : undefined;
    if (!(name in v) || name in Object.prototype) return undefined;
    const x = (v as Record<string, unknown>)[name];
    return typeof x === 'function' ? (x as () => unknown).call(v) : x;
  }
  throw new FuncError(`can't evaluate field ${name} in type ${goTypeName(v)}`);
}

function toStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isNil(v)) return '';
  return formatValue(v);
}

function toInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  throw new FuncError(`cannot use ${formatValue(v)} (type ${goTypeName(v)}) as ${what}`);
}

// ---- fmt ----

/** fmt.Sprint: spaces between operands when neither is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function badVerb(verb: string, v: unknown): string {
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function formatVerb(verb: string, v: unknown, flags: string, prec: number | undefined): string {
  switch (verb) {
    case 'v':
      return formatValue(v);
    case 's':
      if (typeof v === 'number' || typeof v === 'boolean') return badVerb(verb, v);
      return prec !== undefined ? [...formatValue(v)].slice(0, prec).join('') : formatValue(v);
    case 'q':
      if (typeof v === 'string') return goQuote(v);
      if (typeof v === 'number' && Number.isInteger(v)) return `'${String.fromCodePoint(v)}'`;
      return badVerb(verb, v);
    case 't':
      return typeof v === 'boolean' ? String(v) : badVerb(verb, v);
    case 'd':
      if (typeof v === 'bigint') return (flags.includes('+') && v >= 0n ? '+' : '') + v.toString();
      if (typeof v === 'number' && Number.isInteger(v)) return (flags.includes('+') && v >= 0 ? '+' : flags.includes(' ') && v >= 0 ? ' ' : '') + goNumber(v);
      return badVerb(verb, v);
    case 'x':
    case 'X': {
      let s: string;
      if (typeof v === 'number' && Number.isInteger(v)) s = (v < 0 ? '-' : '') + Math.abs(v).toString(16);
      else if (typeof v === 'bigint') s = v.toString(16);
      else if (typeof v === 'string') s = Buffer.from(v, 'utf8').toString('hex');
      else return badVerb(verb, v);
      if (flags.includes('#') && typeof v !== 'string') s = s.startsWith('-') ? `-0x${s.slice(1)}` : `0x${s}`;
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'f':
    case 'F':
    case 'e':
    case 'g': {
      if (typeof v !== 'number') return badVerb(verb, v);
      const sign = flags.includes('+') && v >= 0 ? '+' : '';
      if (verb === 'g') return sign + (prec === undefined ? goFloat(v) : String(Number(v.toPrecision(prec || 1))));
      if (verb === 'e') {
        const [m, e] = v.toExponential(prec ?? 6).split('e') as [string, string];
        const n = Number(e);
        return `${sign}${m}e${n < 0 ? '-' : '+'}${pad2(Math.abs(n))}`;
      }
      return sign + v.toFixed(prec ?? 6);
    }
    case 'c':
      return typeof v === 'number' && Number.isInteger(v) ? String.fromCodePoint(v) : badVerb(verb, v);
    default:
      return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
  }
}

/** fmt.Sprintf with the common verbs (v s q t d x X f F e g c %), flags (- + space 0 #), width and precision. */
function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+ 0#]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])?/y;
  let i = 0;
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    re.lastIndex = pct;
    const m = re.exec(format)!;
    i = re.lastIndex;
    const [, flags = '', width, precStr, verb] = m;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      continue;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const prec = precStr === undefined ? undefined : precStr === '' ? 0 : Number(precStr);
    let s = formatVerb(verb, args[argi++], flags, prec);
    const w = width === undefined ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w, ' ');
      else if (flags.includes('0') && 'dxXfFeg'.includes(verb) && /^[+-]?[0-9a-fA-Fx.]/.test(s)) {
        const sign = /^[+-]/.test(s) ? s[0]! : '';
        s = sign + s.slice(sign.length).padStart(w - sign.length, '0');
      } else s = s.padStart(w, ' ');
    }
    out += s;
  }
  if (argi < args.length) out += `%!(EXTRA ${args.slice(argi).map((a) => `${goTypeName(a)}=${formatValue(a)}`).join(', ')})`;
  return out;
}

// ---- comparisons ----

type Basic = 'nil' | 'bool' | 'number' | 'string';

function basicKind(v: unknown): Basic | undefined {
  if (isNil(v)) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  return undefined;
}

function eqValues(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === undefined || kb === undefined) throw new FuncError(`non-comparable type ${formatValue(ka === undefined ? a : b)}: ${goTypeName(ka === undefined ? a : b)}`);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka !== kb) throw new FuncError('incompatible types for comparison');
  // eslint-disable-next-line eqeqeq -- number vs bigint
  return a == b;
}

function ltValues(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb || (ka !== 'number' && ka !== 'string')) {
    if (ka === kb) throw new FuncError(`invalid type for comparison`);
    throw new FuncError('incompatible types for comparison');
  }
  return (a as number | string) < (b as number | string);
}

// ---- the function table ----

interface Func {
  min: number;
  max: number;
  fn: (args: unknown[]) => unknown;
}

const STRING_MAP_FALLBACK = '';

function indexOne(item: unknown, key: unknown): unknown {
  const list = asList(item);
  if (list) {
    const i = toInt(key, 'index');
    if (i < 0 || i >= list.length) throw new FuncError(`index out of range: ${i}`);
    return list[i];
  }
  if (typeof item === 'string') {
    const bytes = Buffer.from(item, 'utf8');
    const i = toInt(key, 'index');
    if (i < 0 || i >= bytes.length) throw new FuncError(`index out of range: ${i}`);
    return bytes[i];
  }
  if (isNil(item)) {
    if (typeof key === 'string') return STRING_MAP_FALLBACK; // a nil map[string]string
    throw new FuncError('index of untyped nil');
  }
  if (isMapLike(item)) {
    if (typeof key !== 'string') throw new FuncError(`value has type ${goTypeName(key)}; should be string`);
    const entries = item instanceof Map ? [...item.entries()] : Object.entries(item);
    const found = item instanceof Map ? item.has(key) : Object.hasOwn(item, key);
    if (found) return item instanceof Map ? item.get(key) : item[key];
    // Go gives the zero value of the element type: "" for the map[string]string of labels and annotations.
    return entries.every(([, x]) => typeof x === 'string') ? STRING_MAP_FALLBACK : undefined;
  }
  throw new FuncError(`can't index item of type ${goTypeName(item)}`);
}

function titleCase(s: string): string {
  let prevLetter = false;
  let out = '';
  for (const ch of s) {
    const letter = /[\p{L}\p{N}_']/u.test(ch);
    out += letter && !prevLetter ? ch.toUpperCase() : ch;
    prevLetter = letter;
  }
  return out;
}

const FUNCS: Record<string, Func> = {
  and: { min: 1, max: Infinity, fn: () => undefined }, // evaluated lazily by the executor
  or: { min: 1, max: Infinity, fn: () => undefined },
  not: { min: 1, max: 1, fn: ([a]) => !isTrue(a) },
  len: {
    min: 1,
    max: 1,
    fn: ([a]) => {
      if (isNil(a)) return 0;
      if (typeof a === 'string') return Buffer.byteLength(a, 'utf8');
      const list = asList(a);
      if (list) return list.length;
      if (a instanceof Map) return a.size;
      if (isMapLike(a)) return Object.keys(a).length;
      throw new FuncError(`len of type ${goTypeName(a)}`);
    },
  },
  index: {
    min: 1,
    max: Infinity,
    fn: ([item, ...keys]) => keys.reduce((acc, k) => indexOne(acc, k), item),
  },
  slice: {
    min: 1,
    max: 4,
    fn: ([item, ...idx]) => {
      const n = idx.map((x) => toInt(x, 'slice index'));
      if (typeof item === 'string') {
        if (n.length > 2) throw new FuncError('cannot 3-index slice a string');
        const bytes = Buffer.from(item, 'utf8');
        const lo = n[0] ?? 0;
        const hi = n[1] ?? bytes.length;
        if (lo < 0 || hi < lo || hi > bytes.length) throw new FuncError(`index out of range: ${hi > bytes.length ? hi : lo}`);
        return bytes.subarray(lo, hi).toString('utf8');
      }
      const list = asList(item);
      if (!list) throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
      const lo = n[0] ?? 0;
      const hi = n[1] ?? list.length;
      if (lo < 0 || hi < lo || hi > list.length) throw new FuncError(`index out of range: ${hi > list.length ? hi : lo}`);
      return list.slice(lo, hi);
    },
  },
  print: { min: 0, max: Infinity, fn: (args) => sprint(args) },
  println: { min: 0, max: Infinity, fn: (args) => `${args.map((a) => formatValue(a)).join(' ')}\n` },
  printf: {
    min: 1,
    max: Infinity,
    fn: ([f, ...args]) => {
      if (typeof f !== 'string') throw new FuncError(`wrong type for value; expected string; got ${goTypeName(f)}`);
      return sprintf(f, args);
    },
  },
  eq: { min: 2, max: Infinity, fn: ([a, ...bs]) => bs.some((b) => eqValues(a, b)) },
  ne: { min: 2, max: 2, fn: ([a, b]) => !eqValues(a, b) },
  lt: { min: 2, max: 2, fn: ([a, b]) => ltValues(a, b) },
  le: { min: 2, max: 2, fn: ([a, b]) => ltValues(a, b) || eqValues(a, b) },
  gt: { min: 2, max: 2, fn: ([a, b]) => ltValues(b, a) },
  ge: { min: 2, max: 2, fn: ([a, b]) => ltValues(b, a) || eqValues(a, b) },
  // containers/common formats functions, as buildah's templates have them
  json: {
    min: 1,
    max: 1,
    fn: ([v]) => {
      const s = JSON.stringify(v === undefined ? null : v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
      return (s ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    },
  },
  split: { min: 2, max: 2, fn: ([s, sep]) => (toStr(sep) === '' ? Array.from(toStr(s)) : toStr(s).split(toStr(sep))) },
  join: {
    min: 2,
    max: 2,
    fn: ([list, sep]) => {
      if (isNil(list)) return '';
      const l = asList(list);
      if (!l) throw new FuncError(`wrong type for value; expected []string; got ${goTypeName(list)}`);
      return l.map((x) => toStr(x)).join(toStr(sep));
    },
  },
  title: { min: 1, max: 1, fn: ([s]) => titleCase(toStr(s)) },
  lower: { min: 1, max: 1, fn: ([s]) => toStr(s).toLowerCase() },
  upper: { min: 1, max: 1, fn: ([s]) => toStr(s).toUpperCase() },
  pad: {
    min: 3,
    max: 3,
    fn: ([s, pre, post]) => {
      const str = toStr(s);
      return str === '' ? str : ' '.repeat(Math.max(0, toInt(pre, 'int'))) + str + ' '.repeat(Math.max(0, toInt(post, 'int')));
    },
  },
  truncate: {
    min: 2,
    max: 2,
    fn: ([s, n]) => {
      const str = toStr(s);
      const len = toInt(n, 'int');
      return str.length < len ? str : str.slice(0, Math.max(0, len));
    },
  },
};

// ---------------------------------------------------------------------------------------------------------
// Execution

const NO_FINAL = Symbol('no final value');

class ExecError extends Error {
  constructor(
    readonly pos: number,
    readonly src: string,
    message: string,
  ) {
    super(message);
  }
}

class Executor {
  private vars: { name: string; value: unknown }[];
  private out = '';
  private src = '';

  constructor(root: unknown) {
    this.vars = [{ name: '$', value: root }];
  }

  run(nodes: Node[], dot: unknown): string {
    this.walk(nodes, dot);
    return this.out;
  }

  private walk(nodes: Node[], dot: unknown): void {
    const mark = this.vars.length;
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          this.out += n.value;
          break;
        case 'action': {
          this.src = n.src;
          const v = this.evalPipe(dot, n.pipe);
          if (n.pipe.decl.length === 0) this.out += printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          this.src = n.src;
          const inner = this.vars.length;
          const v = this.evalPipe(dot, n.pipe);
          if (isTrue(v)) this.walk(n.list, n.k === 'with' ? v : dot);
          else if (n.elseList) this.walk(n.elseList, dot);
          this.vars.length = inner;
          break;
        }
        case 'range':
          this.range(n, dot);
          break;
        case 'break':
          throw new BreakSignal();
        case 'continue':
          throw new ContinueSignal();
      }
    }
    this.vars.length = mark;
  }

  private range(n: Extract<Node, { k: 'range' }>, dot: unknown): void {
    this.src = n.src;
    const v = this.evalPipe(dot, n.pipe, true);
    let pairs: [unknown, unknown][];
    const list = asList(v);
    if (isNil(v)) pairs = [];
    else if (list) pairs = list.map((x, i) => [i, x]);
    else if (isMapLike(v)) pairs = mapEntries(v);
    else if (typeof v === 'number' && Number.isInteger(v)) pairs = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    else throw new ExecError(n.pos, n.src, `range can't iterate over ${formatValue(v)}`);
    if (pairs.length === 0) {
      if (n.elseList) this.walk(n.elseList, dot);
      return;
    }
    const mark = this.vars.length;
    for (const [k, x] of pairs) {
      const decl = n.pipe.decl;
      if (decl.length === 1) this.setVar(decl[0]!, x, n.pipe.assign);
      else if (decl.length === 2) {
        this.setVar(decl[0]!, k, n.pipe.assign);
        this.setVar(decl[1]!, x, n.pipe.assign);
      }
      try {
        this.walk(n.list, x);
      } catch (e) {
        if (e instanceof BreakSignal) {
          this.vars.length = mark;
          break;
        }
        if (!(e instanceof ContinueSignal)) throw e;
      }
      this.vars.length = mark;
    }
  }

  private setVar(name: string, value: unknown, assign: boolean): void {
    if (assign) {
      for (let i = this.vars.length - 1; i >= 0; i--) {
        if (this.vars[i]!.name === name) {
          this.vars[i]!.value = value;
          return;
        }
      }
    }
    this.vars.push({ name, value });
  }

  private lookup(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    return undefined;
  }

  private fail(pos: number, message: string): never {
    throw new ExecError(pos, this.src, message);
  }

  private evalPipe(dot: unknown, pipe: Pipe, skipDecl = false): unknown {
    let v: unknown = NO_FINAL;
    for (const cmd of pipe.cmds) v = this.evalCommand(dot, cmd, v);
    if (!skipDecl) for (const name of pipe.decl) this.setVar(name, v, pipe.assign);
    return v;
  }

  private evalCommand(dot: unknown, cmd: Command, final: unknown): unknown {
    const [first, ...rest] = cmd.args as [Arg, ...Arg[]];
    if (first.k === 'ident') return this.call(dot, first, rest, final);
    if (rest.length > 0 || final !== NO_FINAL) this.fail(first.pos, `can't give argument to non-function ${this.describe(first)}`);
    if (first.k === 'nil') this.fail(first.pos, 'nil is not a command');
    return this.evalArg(dot, first);
  }

  private describe(a: Arg): string {
    switch (a.k) {
      case 'field':
        return `.${a.names.join('.')}`;
      case 'var':
        return [a.name, ...a.names].join('.');
      case 'dot':
        return '.';
      case 'const':
        return typeof a.value === 'string' ? JSON.stringify(a.value) : String(a.value);
      case 'nil':
        return 'nil';
      case 'ident':
        return a.name;
      case 'pipe':
        return `(pipeline)${a.names.map((n) => `.${n}`).join('')}`;
    }
  }

  private fields(v: unknown, names: string[], pos: number): unknown {
    let cur = v;
    for (const name of names) {
      try {
        cur = fieldOf(cur, name);
      } catch (e) {
        if (e instanceof FuncError) this.fail(pos, e.message);
        throw e;
      }
    }
    return cur;
  }

  private evalArg(dot: unknown, a: Arg): unknown {
    switch (a.k) {
      case 'field':
        return this.fields(dot, a.names, a.pos);
      case 'var':
        return this.fields(this.lookup(a.name), a.names, a.pos);
      case 'dot':
        return dot;
      case 'const':
        return a.value;
      case 'nil':
        return null;
      case 'ident':
        return this.call(dot, a, [], NO_FINAL);
      case 'pipe': {
        const mark = this.vars.length;
        const v = this.evalPipe(dot, a.pipe);
        this.vars.length = mark;
        return this.fields(v, a.names, a.pos);
      }
    }
  }

  private call(dot: unknown, fn: Extract<Arg, { k: 'ident' }>, argNodes: Arg[], final: unknown): unknown {
    const f = FUNCS[fn.name]!;
    const count = argNodes.length + (final === NO_FINAL ? 0 : 1);
    if (count < f.min || count > f.max) {
      const want = f.min === f.max ? String(f.min) : f.max === Infinity ? `at least ${f.min}` : `${f.min} to ${f.max}`;
      this.fail(fn.pos, `wrong number of args for ${fn.name}: want ${want} got ${count}`);
    }
    if (fn.name === 'and' || fn.name === 'or') {
      let v: unknown;
      const thunks: (() => unknown)[] = argNodes.map((a) => () => this.evalArg(dot, a));
      if (final !== NO_FINAL) thunks.push(() => final);
      for (const t of thunks) {
        v = t();
        if (isTrue(v) === (fn.name === 'or')) return v;
      }
      return v;
    }
    const args = argNodes.map((a) => this.evalArg(dot, a));
    if (final !== NO_FINAL) args.push(final);
    try {
      return f.fn(args);
    } catch (e) {
      if (e instanceof FuncError) this.fail(fn.pos, `error calling ${fn.name}: ${e.message}`);
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

function position(src: string, pos: number): string {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1) + 1;
  return `${line}:${col}`;
}

/**
 * Renders `format` (a Go text/template subset) against `data`. Throws UsageError, with line:column, for a
 * malformed template or an error while executing it.
 */
export function renderTemplate(format: string, data: unknown): string {
  let nodes: Node[];
  try {
    nodes = new Parser(lex(format)).parse();
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new UsageError(`template: ${position(format, e.pos)}: ${e.message}`);
    throw e;
  }
  try {
    return new Executor(data).run(nodes, data);
  } catch (e) {
    if (e instanceof ExecError) throw new UsageError(`template: ${position(format, e.pos)}: executing at <${e.src}>: ${e.message}`);
    throw e;
  }
}

/** Parses `format` without running it: throws UsageError if it is malformed. */
export function checkTemplate(format: string): void {
  try {
    new Parser(lex(format)).parse();
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new UsageError(`template: ${position(format, e.pos)}: ${e.message}`);
    throw e;
  }
}
