/**
 * A Dockerfile read into instructions: dockerfile-ast finds the instructions, their lines, the escape
 * directive and here-documents; this module joins continuation lines, takes the `--flags` off, recognises the
 * JSON (exec) form and splits key=value lists the way Docker's parser does. Nothing is expanded here.
 */
import { DockerfileParser, type Instruction as AstInstruction } from 'dockerfile-ast';
import { DockerfileError } from '../errors.js';

export interface Heredoc {
  name: string;
  content: string;
  /** `<<"EOF"` and `<<'EOF'` take the content literally; `<<EOF` expands variables in it. */
  expand: boolean;
}

export interface Instruction {
  /** Upper case. */
  keyword: string;
  /** 1-based line of the keyword, and the last line of the instruction. */
  line: number;
  endLine: number;
  /** Leading `--name[=value]` options, in order. */
  flags: { name: string; value: string | undefined }[];
  /** Everything after the flags, continuation lines joined (for here-documents: the first line only). */
  args: string;
  /** The exec form, when `args` is a JSON array of strings. */
  json?: string[];
  heredocs: Heredoc[];
  /** "KEYWORD args" as written, continuation lines joined: what the build prints and records. */
  text: string;
}

export interface ParsedDockerfile {
  file: string;
  escape: string;
  instructions: Instruction[];
}

export const KEYWORDS = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
  'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);
const JSON_FORMS = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'VOLUME', 'COPY', 'ADD']);
const HEREDOC_FORMS = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC_RE = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** Join continuation lines as Docker does: escape + trailing blanks end a line that goes on; comments inside are dropped. */
function joinLines(lines: string[], escape: string): string {
  const cont = new RegExp(`${escape === '`' ? '`' : '\\\\'}[ \\t]*$`);
  let out = '';
  lines.forEach((line, i) => {
    if (i > 0 && (/^\s*#/.test(line) || line.trim() === '')) return;
    out += i < lines.length - 1 || cont.test(line) ? line.replace(cont, '') : line;
  });
  return out;
}

/** Leading `--name=value` words. */
function takeFlags(s: string): { flags: Instruction['flags']; rest: string } {
  const flags: Instruction['flags'] = [];
  let rest = s.trimStart();
  for (;;) {
    const m = /^--([A-Za-z0-9-]+)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags.push({ name: m[1]!, value: m[2] });
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.trim() };
}

function parseJsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // shell form after all
  }
  return undefined;
}

/** The instruction's own source lines (0-based range from dockerfile-ast), as written. */
function sourceLines(all: string[], ins: AstInstruction): string[] {
  const r = ins.getRange();
  return all.slice(r.start.line, r.end.line + 1);
}

export function parseDockerfile(content: string, file = 'Dockerfile'): ParsedDockerfile {
  const doc = DockerfileParser.parse(content);
  const escape = doc.getEscapeCharacter();
  const all = content.split(/\r?\n/);
  const instructions: Instruction[] = [];
  for (const ins of doc.getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    const line = ins.getRange().start.line + 1;
    if (!KEYWORDS.has(keyword)) throw new DockerfileError(file, line, `unknown instruction: ${ins.getKeyword()}`);
    let lines = sourceLines(all, ins);
    lines[0] = lines[0]!.slice(ins.getInstructionRange().end.character);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_FORMS.has(keyword) && lines[0]!.includes('<<') && [...lines[0]!.matchAll(HEREDOC_RE)].length > 0) {
      const first = lines[0]!;
      let rest = lines.slice(1);
      for (const m of first.matchAll(HEREDOC_RE)) {
        const end = rest.findIndex((l) => (m[1] ? l.replace(/^\t+/, '') : l) === m[3]);
        if (end < 0) throw new DockerfileError(file, line, `here-document "${m[3]}" is not terminated`);
        let body = rest.slice(0, end);
        if (m[1]) body = body.map((l) => l.replace(/^\t+/, ''));
        heredocs.push({ name: m[3]!, content: body.map((l) => `${l}\n`).join(''), expand: m[2] === '' });
        rest = rest.slice(end + 1);
      }
      lines = [first];
    }
    const joined = joinLines(lines, escape).trim();
    const { flags, rest } = takeFlags(joined);
    const json = JSON_FORMS.has(keyword) && heredocs.length === 0 ? parseJsonArray(rest) : undefined;
    instructions.push({ keyword, line, endLine: ins.getRange().end.line + 1, flags, args: rest, json, heredocs, text: `${keyword} ${joined}`.trim() });
  }
  return { file, escape, instructions };
}

/**
 * Docker's word splitter for key=value lists and plain arguments: whitespace outside quotes separates words;
 * quotes and escape characters stay in the words (expansion removes them later).
 */
export function splitRawWords(s: string, escape: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && i + 1 < s.length && quote !== "'") {
      cur += c + s[++i];
      started = true;
    } else if (quote) {
      cur += c;
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  if (started) words.push(cur);
  return words;
}

/** ENV and LABEL arguments: `K=V K2="v 2"`, or the old `K value with spaces` (one pair). Raw, unexpanded. */
export function parseKeyValues(ins: Instruction, file: string, escape: string): [string, string][] {
  const words = splitRawWords(ins.args, escape);
  if (words.length === 0) throw new DockerfileError(file, ins.line, `${ins.keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // the legacy one-pair form, `ENV K some value` (LABEL accepts it too)
    const m = /^(\S+)\s+([\s\S]*)$/.exec(ins.args);
    if (!m) throw new DockerfileError(file, ins.line, `${ins.keyword} names ${words[0]} but gives it no value`);
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new DockerfileError(file, ins.line, `${ins.keyword}: can't find = in "${w}", it must be of the form name=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
