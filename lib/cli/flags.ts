import parser from 'yargs-parser';
import { UsageError } from '../errors.js';

/**
 * Flag specs and parsing for verbs. We use yargs' own parser rather than yargs itself: every shell-script
 * step is a new hod process, and loading yargs costs ~60 ms per start where yargs-parser costs a few.
 */
export interface Flag {
  type: 'string' | 'boolean' | 'list';
  alias?: string;
  desc: string;
  /** The value's name in help, e.g. "path". */
  arg?: string;
  default?: string | boolean;
}

export interface VerbSpec {
  usage: string;
  desc: string;
  flags: Record<string, Flag>;
  /** Extra help text: examples, notes. */
  more?: string;
  /** Stop reading flags at the first argument: what follows (a command and its flags) is positional. */
  haltAtNonOption?: boolean;
}

export const GLOBAL_FLAGS: Record<string, Flag> = {
  root: { type: 'string', arg: 'path', desc: 'store root (default /var/lib/hod as root, else ~/.local/share/hod; $HOD_ROOT)' },
  'storage-driver': { type: 'string', arg: 'overlay|fuse-overlayfs|vfs', desc: 'root filesystem driver ($STORAGE_DRIVER; default: overlay, rootless the first that works)' },
  'log-level': { type: 'string', arg: 'level', desc: 'error, warn, info or debug (debug shows stack traces)' },
  help: { type: 'boolean', alias: 'h', desc: 'show help' },
};

export type Parsed = { args: string[]; rest: string[]; flags: Record<string, unknown> };

export function parseFlags(argv: string[], spec: VerbSpec): Parsed {
  const all = { ...GLOBAL_FLAGS, ...spec.flags };
  const opts: parser.Options = {
    string: [],
    boolean: [],
    alias: {},
    default: {},
    configuration: {
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'populate--': true,
      'duplicate-arguments-array': true,
      'strip-aliased': true,
      'boolean-negation': false,
      'greedy-arrays': false,
      'short-option-groups': true,
      'halt-at-non-option': spec.haltAtNonOption ?? false,
    },
  };
  for (const [name, f] of Object.entries(all)) {
    (f.type === 'boolean' ? opts.boolean! : opts.string!).push(name);
    if (f.alias) opts.alias![name] = [f.alias];
    if (f.default !== undefined) (opts.default as Record<string, unknown>)[name] = f.default;
  }
  const out = parser.detailed(argv, opts);
  if (out.error) throw new UsageError(out.error.message);
  const known = new Set<string>(['_', '--']);
  for (const [name, f] of Object.entries(all)) {
    known.add(name);
    known.add(camel(name));
    if (f.alias) known.add(f.alias);
  }
  const flags: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out.argv)) {
    if (!known.has(k)) throw new UsageError(`unknown flag: ${k.length === 1 ? '-' : '--'}${k}`);
    if (k === '_' || k === '--') continue;
    const f = all[k];
    if (!f) continue; // camel-cased twin
    if (f.type === 'list') flags[k] = ([] as unknown[]).concat(v ?? []).map(String);
    else if (Array.isArray(v)) flags[k] = v[v.length - 1];
    else flags[k] = v;
  }
  const after = ((out.argv['--'] as unknown[]) ?? []).map(String);
  if (spec.haltAtNonOption) {
    // yargs-parser puts everything from the first argument on after "--": split it at a literal "--" again
    const cut = after.indexOf('--');
    return { args: [...out.argv._.map(String), ...(cut < 0 ? after : after.slice(0, cut))], rest: cut < 0 ? [] : after.slice(cut + 1), flags };
  }
  return { args: out.argv._.map(String), rest: after, flags };
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function renderHelp(verb: string, spec: VerbSpec): string {
  const lines = [`${spec.desc}`, '', `Usage: hod ${verb} ${spec.usage}`, '', 'Flags:'];
  const rows = Object.entries({ ...spec.flags, ...GLOBAL_FLAGS }).map(([name, f]) => {
    // a long alias (--net for --network) is a second long flag, not a short one
    const alias = f.alias ? `${f.alias.length > 1 ? '--' : '-'}${f.alias}, ` : '    ';
    const left = `${alias}--${name}${f.type === 'boolean' ? '' : ` ${f.arg ?? 'value'}`}`;
    return [left, f.desc + (f.type === 'list' ? ' (can be repeated)' : '')];
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(w)}${r}`);
  if (spec.more) lines.push('', spec.more.trimEnd());
  return lines.join('\n') + '\n';
}

/** A string flag's value, if given. */
export function str(flags: Record<string, unknown>, name: string): string | undefined {
  const v = flags[name];
  return v === undefined ? undefined : String(v);
}

export function list(flags: Record<string, unknown>, name: string): string[] {
  return (flags[name] as string[] | undefined) ?? [];
}

export function bool(flags: Record<string, unknown>, name: string): boolean {
  return flags[name] === true;
}

export function int(flags: Record<string, unknown>, name: string): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name}: "${v}" is not an integer`);
  return Number(v);
}

export function need(args: string[], n: number, what: string): void {
  if (args.length < n) throw new UsageError(`${what} must be specified`);
}
