/**
 * Word expansion as Docker's Dockerfile frontend does it (the shell-like lexer of BuildKit's
 * frontend/dockerfile/shell): quotes are removed, the escape character protects the next character, and
 * `$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?msg}`, `${V?msg}` are expanded. Single quotes
 * stop expansion; inside double quotes the escape character only protects `"`, `$` and itself.
 */
import { UsageError } from '../errors.js';

/** A variable's value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  next(): string | undefined {
    return this.s[this.pos++];
  }
  done(): boolean {
    return this.pos >= this.s.length;
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** One word, or several when `split` (unquoted whitespace and unquoted expansions separate words). */
class Words {
  words: string[] = [];
  cur = '';
  started = false;
  addRaw(s: string): void {
    this.cur += s;
    this.started = true;
  }
  /** Unquoted text from an expansion: its whitespace separates words. */
  addSplit(s: string): void {
    const parts = s.split(/[ \t\r\n]+/);
    parts.forEach((p, i) => {
      if (i > 0) this.end();
      if (p !== '') this.addRaw(p);
    });
  }
  end(): void {
    if (this.started) this.words.push(this.cur);
    this.cur = '';
    this.started = false;
  }
}

class Expander {
  constructor(private readonly lookup: Lookup, private readonly escape: string) {}

  /** Process until `stop` (not consumed) or the end; returns the text, and the words when splitting. */
  run(sc: Scanner, stop: string | undefined, words: Words | undefined): string {
    let out = '';
    while (!sc.done()) {
      const ch = sc.peek()!;
      if (stop !== undefined && ch === stop) break;
      if (ch === "'") {
        const s = this.single(sc);
        out += s;
        words?.addRaw(s);
      } else if (ch === '"') {
        const s = this.double(sc);
        out += s;
        words?.addRaw(s);
      } else if (ch === '$') {
        const s = this.dollar(sc);
        out += s;
        words?.addSplit(s);
      } else if (ch === this.escape) {
        sc.next();
        const c = sc.next();
        // a trailing escape character stays as it is
        const s = c === undefined ? ch : c;
        out += s;
        words?.addRaw(s);
      } else if (words && /[ \t\r\n]/.test(ch)) {
        sc.next();
        out += ch;
        words.end();
      } else {
        sc.next();
        out += ch;
        words?.addRaw(ch);
      }
    }
    return out;
  }

  private single(sc: Scanner): string {
    sc.next();
    let out = '';
    for (;;) {
      const c = sc.next();
      if (c === undefined) throw new UsageError('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return out;
      out += c;
    }
  }

  private double(sc: Scanner): string {
    sc.next();
    let out = '';
    for (;;) {
      const c = sc.peek();
      if (c === undefined) throw new UsageError('unexpected end of statement while looking for matching double-quote');
      if (c === '"') {
        sc.next();
        return out;
      }
      if (c === '$') out += this.dollar(sc);
      else if (c === this.escape) {
        sc.next();
        const n = sc.next();
        if (n === undefined) throw new UsageError('unexpected end of statement while looking for matching double-quote');
        out += n === '"' || n === '$' || n === this.escape ? n : c + n;
      } else out += sc.next();
    }
  }

  private dollar(sc: Scanner): string {
    sc.next();
    const c = sc.peek();
    if (c === '{') {
      sc.next();
      const name = this.name(sc);
      const after = sc.peek();
      if (after === '}') {
        sc.next();
        if (name === '') throw new UsageError('bad substitution: ${}');
        return this.lookup(name) ?? '';
      }
      if (name === '') throw new UsageError(`bad substitution: missing variable name before "${after ?? ''}"`);
      let op = sc.next();
      if (op === ':') op += sc.next() ?? '';
      if (!op || !['-', '+', '?', ':-', ':+', ':?'].includes(op)) {
        throw new UsageError(`unsupported modifier (${op ?? ''}) in substitution of ${name}`);
      }
      const word = this.run(sc, '}', undefined);
      if (sc.next() !== '}') throw new UsageError(`missing '}' in substitution of ${name}`);
      const value = this.lookup(name);
      const colon = op.startsWith(':');
      const set = value !== undefined && (!colon || value !== '');
      switch (op.slice(-1)) {
        case '-':
          return set ? value! : word;
        case '+':
          return set ? word : '';
        default:
          if (!set) throw new UsageError(`${name}: ${word || 'is not allowed to be unset'}`);
          return value!;
      }
    }
    if (c !== undefined && NAME_START.test(c)) return this.lookup(this.name(sc)) ?? '';
    // "$" before anything else is literal
    return '$';
  }

  private name(sc: Scanner): string {
    let n = '';
    while (!sc.done() && NAME_CHAR.test(sc.peek()!)) n += sc.next();
    return n;
  }
}

/** One word: quotes removed, variables expanded, whitespace kept (ENV values, WORKDIR, COPY paths...). */
export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  return new Expander(lookup, escape).run(new Scanner(word), undefined, undefined);
}

/** Several words: unquoted whitespace, including that of expanded values, separates them (EXPOSE...). */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  const words = new Words();
  new Expander(lookup, escape).run(new Scanner(text), undefined, words);
  words.end();
  return words.words;
}
