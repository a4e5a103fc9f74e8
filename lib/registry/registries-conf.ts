/**
 * containers-registries.conf(5): unqualified-search registries, short-name mode and aliases, and per-prefix
 * `[[registry]]` entries (location rewriting, insecure, blocked, mirrors), read and merged the way
 * containers/image's sysregistriesv2 does.
 *
 * Files: $CONTAINERS_REGISTRIES_CONF (or `path`) if set, else ~/.config/containers/registries.conf if it
 * exists (it replaces the system file and its drop-ins), else /etc/containers/registries.conf; then the
 * `*.conf` drop-ins of /etc/containers/registries.conf.d and ~/.config/containers/registries.conf.d, each
 * directory in name order. A later file replaces the earlier one's settings key by key, `[[registry]]`
 * entries by prefix and aliases by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { HodError } from '../errors.js';
import { formatReference, normalizeDocker, parseReference, type Reference } from '../image/reference.js';

export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface Mirror {
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  /** What references it applies to: `host[:port][/path...]`, or `*.domain` for every subdomain. */
  prefix: string;
  /** Where those references are pulled from; "" only for a `*.domain` prefix (no rewriting). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: Mirror[];
  /** The file it came from, for messages. */
  origin: string;
}

/** A short-name alias; `target` undefined means a later file reset it ("" in the file). */
export interface Alias {
  /** A repository: domain and path, no tag or digest. */
  target: Reference | undefined;
  origin: string;
}

export interface RegistriesConf {
  /** Sorted by prefix, one entry per prefix. */
  registries: RegistryEntry[];
  unqualifiedSearchRegistries: string[];
  /** The file that set `unqualifiedSearchRegistries`, or "" when none did. */
  searchOrigin: string;
  shortNameMode: ShortNameMode;
  /** The file that set the mode, or "" for the default. */
  shortNameModeOrigin: string;
  aliases: Map<string, Alias>;
  credentialHelpers: string[];
  /** Every file read, in order. */
  files: string[];
}

export interface RegistriesConfOptions {
  /** The registries.conf to read, which must exist (as $CONTAINERS_REGISTRIES_CONF). */
  path?: string;
  /** The only drop-in directory to read. */
  dirPath?: string;
  /** Prefix of the system paths under /etc (containers/image's RootForImplicitAbsolutePaths). */
  root?: string;
  /** HOME and CONTAINERS_REGISTRIES_CONF. */
  env?: NodeJS.ProcessEnv;
}

const SYSTEM_CONF = '/etc/containers/registries.conf';
const SYSTEM_DIR = '/etc/containers/registries.conf.d';
const USER_CONF = '.config/containers/registries.conf';
const USER_DIR = '.config/containers/registries.conf.d';
/** containers/image's default when no file sets short-name-mode. */
const DEFAULT_SHORT_NAME_MODE: ShortNameMode = 'permissive';
const SHORT_NAME_MODES: readonly string[] = ['enforcing', 'permissive', 'disabled'];
const PULL_FROM_MIRROR: readonly string[] = ['all', 'digest-only', 'tag-only'];
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

export class RegistriesConfError extends HodError {
  constructor(message: string) {
    super('EREGISTRIESCONF', message);
  }
}

export function emptyRegistriesConf(): RegistriesConf {
  return {
    registries: [],
    unqualifiedSearchRegistries: [],
    searchOrigin: '',
    shortNameMode: DEFAULT_SHORT_NAME_MODE,
    shortNameModeOrigin: '',
    aliases: new Map(),
    credentialHelpers: [],
    files: [],
  };
}

/** A TOML file as a table, undefined when it does not exist; a syntax error names file:line:column. */
export function readTomlFile(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RegistriesConfError(`reading ${file}: ${(err as Error).message}`);
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const what = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw new RegistriesConfError(`${file}:${err.line}:${err.column}: ${what}`);
  }
}

/** Typed access to one table of a file, with errors that name the file and the key. */
class Table {
  constructor(
    readonly t: Record<string, unknown>,
    readonly file: string,
    readonly where: string,
  ) {}

  /** `registry[0].mirror[1].location`: where in the file the problem is. */
  private name(key: string): string {
    return [this.where, key].filter(Boolean).join('.');
  }

  fail(key: string, why: string): never {
    const name = this.name(key);
    throw new RegistriesConfError(`${this.file}: ${name ? `${name}: ` : ''}${why}`);
  }

  has(key: string): boolean {
    return this.t[key] !== undefined;
  }

  str(key: string): string {
    const v = this.t[key] ?? '';
    return typeof v === 'string' ? v : this.fail(key, `must be a string, not ${JSON.stringify(v)}`);
  }

  bool(key: string): boolean {
    const v = this.t[key] ?? false;
    return typeof v === 'boolean' ? v : this.fail(key, `must be true or false, not ${JSON.stringify(v)}`);
  }

  strings(key: string): string[] {
    const v = this.t[key] ?? [];
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    return this.fail(key, 'must be an array of strings');
  }

  tables(key: string): Table[] {
    const v = this.t[key] ?? [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
      return this.fail(key, `must be an array of tables ([[${this.name(key)}]])`);
    }
    return v.map((x, i) => new Table(x as Record<string, unknown>, this.file, `${this.name(key)}[${i}]`));
  }

  table(key: string): Table | undefined {
    const v = this.t[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.fail(key, 'must be a table');
    return new Table(v as Record<string, unknown>, this.file, this.name(key));
  }
}

/** A location or prefix without trailing slashes; URL schemes are refused, as containers/image does. */
function location(t: Table, key: string, value = t.str(key)): string {
  const trimmed = value.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) t.fail(key, `"${value}": URI schemes are not supported, give host[:port][/path]`);
  return trimmed;
}

function parseRegistry(t: Table): RegistryEntry {
  const loc = location(t, 'location');
  let prefix = location(t, 'prefix');
  if (prefix === '') {
    if (loc === '') t.fail('', 'both location and prefix are unset');
    prefix = loc;
  } else if (prefix.startsWith('*.')) {
    if (/[/@:]/.test(prefix)) t.fail('prefix', `"${prefix}": a wildcard prefix must be of the form *.example.com`);
  } else if (loc === '') {
    t.fail('location', `unset, and prefix "${prefix}" is not of the form *.example.com`);
  }
  if (t.has('pull-from-mirror')) t.fail('pull-from-mirror', 'may only be set in a [[registry.mirror]]');
  const mirrorByDigestOnly = t.bool('mirror-by-digest-only');
  const mirrors = t.tables('mirror').map((m): Mirror => {
    const mloc = location(m, 'location');
    if (mloc === '') m.fail('location', 'a mirror needs a location');
    const pull = m.str('pull-from-mirror') || 'all';
    if (!PULL_FROM_MIRROR.includes(pull)) m.fail('pull-from-mirror', `"${pull}" is not one of ${PULL_FROM_MIRROR.join(', ')}`);
    if (mirrorByDigestOnly && m.has('pull-from-mirror')) {
      m.fail('pull-from-mirror', `cannot be set when the registry "${prefix}" has mirror-by-digest-only`);
    }
    return { location: mloc, insecure: m.bool('insecure'), pullFromMirror: pull as PullFromMirror };
  });
  return { prefix, location: loc, insecure: t.bool('insecure'), blocked: t.bool('blocked'), mirrorByDigestOnly, mirrors, origin: t.file };
}

/** One file's settings; absent keys stay undefined so that merging leaves the earlier files' values. */
interface FileConf {
  registries: RegistryEntry[];
  search?: string[];
  mode?: ShortNameMode;
  aliases: Map<string, Alias>;
  credentialHelpers?: string[];
}

/** The v1 format (`[registries.search]`, `.insecure`, `.block`) as v2 entries, as containers/image converts it. */
function fromV1(v1: Table): FileConf {
  const entries = new Map<string, RegistryEntry>();
  const entry = (t: Table, value: string): RegistryEntry => {
    const loc = location(t, 'registries', value);
    if (!entries.has(loc)) entries.set(loc, { prefix: loc, location: loc, insecure: false, blocked: false, mirrorByDigestOnly: false, mirrors: [], origin: t.file });
    return entries.get(loc)!;
  };
  const list = (name: string): [Table, string[]] | undefined => {
    const t = v1.table(name);
    return t && [t, t.strings('registries')];
  };
  const [bt, blocked] = list('block') ?? [v1, []];
  for (const r of blocked) entry(bt, r).blocked = true;
  const [it, insecure] = list('insecure') ?? [v1, []];
  for (const r of insecure) entry(it, r).insecure = true;
  const search = list('search');
  return { registries: [...entries.values()], search: search?.[1], aliases: new Map() };
}

function repository(r: Reference): Reference {
  return { domain: r.domain, path: r.path };
}

/** Validates alias names (short names) and targets (registry/repository, no tag or digest) of one file. */
function parseAliases(t: Table | undefined, file: string): Map<string, Alias> {
  const out = new Map<string, Alias>();
  if (!t) return out;
  const problems: string[] = [];
  for (const name of Object.keys(t.t)) {
    const value = t.str(name);
    const problem = shortNameProblem(name) ?? (value === '' ? undefined : aliasTargetProblem(value));
    if (problem) problems.push(problem);
    else out.set(name, { target: value === '' ? undefined : repository(normalizeDocker(value)), origin: file });
  }
  // every bad alias at once, so that fixing a file is not a game of whack-a-mole
  if (problems.length) throw new RegistriesConfError(`${file}: [aliases]: ${problems.join('; ')}`);
  return out;
}

/** Why `name` cannot be a short name (it has a registry, a tag or a digest), or undefined. */
export function shortNameProblem(name: string): string | undefined {
  try {
    const r = parseReference(name);
    if (r.digest) return `invalid short name "${name}": must not contain a digest`;
    if (r.tag) return `invalid short name "${name}": must not contain a tag`;
    if (r.domain) return `invalid short name "${name}": must not contain a registry`;
  } catch (err) {
    return `invalid short name "${name}": ${(err as Error).message}`;
  }
  return undefined;
}

function aliasTargetProblem(value: string): string | undefined {
  try {
    const r = parseReference(value);
    if (r.digest) return `invalid alias "${value}": must not contain a digest`;
    if (r.tag) return `invalid alias "${value}": must not contain a tag`;
    if (!r.domain) return `invalid alias "${value}": must contain a registry and a repository`;
  } catch (err) {
    return `invalid alias "${value}": ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * The `[aliases]` of a short-name alias cache (short-name-aliases.conf, the same format); an empty map when
 * the file does not exist.
 */
export function readAliasFile(file: string): Map<string, Alias> {
  const doc = readTomlFile(file);
  return doc ? parseAliases(new Table(doc, file, '').table('aliases'), file) : new Map();
}

/** Checks one file and returns what it sets. Drop-ins must use the v2 format. */
function parseFile(doc: Record<string, unknown>, file: string, dropIn: boolean): FileConf {
  const top = new Table(doc, file, '');
  const v1 = top.table('registries');
  const v2Keys = ['registry', 'unqualified-search-registries', 'short-name-mode', 'aliases', 'credential-helpers'].filter((k) => top.has(k));
  if (v1) {
    if (dropIn) throw new RegistriesConfError(`${file}: drop-in files must use the v2 format ([[registry]], unqualified-search-registries), not [registries.*]`);
    if (v2Keys.length) throw new RegistriesConfError(`${file}: mixes the v1 format ([registries.*]) with v2 keys (${v2Keys.join(', ')}); convert it all to v2`);
    return fromV1(v1);
  }
  const registries = top.tables('registry').map(parseRegistry);
  // one location, several prefixes: they must agree on insecure and blocked
  for (const a of registries) {
    for (const b of registries) {
      const key = (e: RegistryEntry) => e.location || e.prefix;
      if (key(a) !== key(b)) continue;
      if (a.insecure !== b.insecure) throw new RegistriesConfError(`${file}: registry "${key(a)}" is defined several times with conflicting "insecure" settings`);
      if (a.blocked !== b.blocked) throw new RegistriesConfError(`${file}: registry "${key(a)}" is defined several times with conflicting "blocked" settings`);
    }
  }
  const conf: FileConf = { registries: uniqueByPrefix(registries), aliases: parseAliases(top.table('aliases'), file) };
  if (top.has('unqualified-search-registries')) {
    conf.search = top.strings('unqualified-search-registries').map((r) => {
      const host = location(top, 'unqualified-search-registries', r);
      if (!DOMAIN_RE.test(host)) top.fail('unqualified-search-registries', `"${r}" is not a registry host[:port]`);
      return host;
    });
  }
  if (top.has('short-name-mode')) {
    const mode = top.str('short-name-mode');
    if (!SHORT_NAME_MODES.includes(mode)) top.fail('short-name-mode', `"${mode}" is not one of ${SHORT_NAME_MODES.join(', ')}`);
    conf.mode = mode as ShortNameMode;
  }
  if (top.has('credential-helpers')) conf.credentialHelpers = top.strings('credential-helpers');
  return conf;
}

/** Within one file the first entry of a prefix wins (containers/image ignores the later ones). */
function uniqueByPrefix(entries: RegistryEntry[]): RegistryEntry[] {
  const seen = new Map<string, RegistryEntry>();
  for (const e of entries) if (!seen.has(e.prefix)) seen.set(e.prefix, e);
  return [...seen.values()];
}

function merge(conf: RegistriesConf, f: FileConf, file: string): void {
  const byPrefix = new Map(conf.registries.map((e) => [e.prefix, e]));
  for (const e of f.registries) byPrefix.set(e.prefix, e);
  conf.registries = [...byPrefix.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  if (f.search) {
    conf.unqualifiedSearchRegistries = f.search;
    conf.searchOrigin = file;
  }
  if (f.mode) {
    conf.shortNameMode = f.mode;
    conf.shortNameModeOrigin = file;
  }
  for (const [k, v] of f.aliases) conf.aliases.set(k, v);
  if (f.credentialHelpers) conf.credentialHelpers = f.credentialHelpers;
  conf.files.push(file);
}

function dropIns(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new RegistriesConfError(`reading ${dir}: ${(err as Error).message}`);
  }
  return entries
    .filter((e) => !e.isDirectory() && e.name.endsWith('.conf'))
    .map((e) => e.name)
    .sort()
    .map((n) => path.join(dir, n));
}

/** The main file and the drop-in directories to read, chosen as containers/image chooses them. */
export function registriesConfPaths(opts: RegistriesConfOptions = {}): { file: string; required: boolean; dirs: string[] } {
  const env = opts.env ?? process.env;
  const home = env.HOME || os.homedir();
  const root = opts.root ?? '';
  const userFile = path.join(home, USER_CONF);
  const userDir = path.join(home, USER_DIR);
  const explicit = opts.path || env.CONTAINERS_REGISTRIES_CONF || undefined;
  if (!explicit && fs.existsSync(userFile)) return { file: userFile, required: false, dirs: [opts.dirPath ?? userDir] };
  const dirs = opts.dirPath ? [opts.dirPath] : [path.join(root, SYSTEM_DIR), userDir];
  return { file: explicit ?? path.join(root, SYSTEM_CONF), required: explicit !== undefined, dirs };
}

/** Reads and merges every registries.conf file that applies; no file at all gives the defaults. */
export function loadRegistriesConf(opts: RegistriesConfOptions = {}): RegistriesConf {
  const { file, required, dirs } = registriesConfPaths(opts);
  const conf = emptyRegistriesConf();
  const main = readTomlFile(file);
  if (main) merge(conf, parseFile(main, file, false), file);
  else if (required) throw new RegistriesConfError(`${file}: registries configuration not found`);
  for (const dropIn of dirs.flatMap(dropIns)) {
    const doc = readTomlFile(dropIn);
    if (doc) merge(conf, parseFile(doc, dropIn, true), dropIn);
  }
  return conf;
}

/**
 * Length of the part of `ref` (a registry, repository or full reference as text) that `prefix` matches, or -1.
 * A prefix matches at a boundary (":", "/", "@" or the end); `*.example.com` matches any subdomain of
 * example.com in the host part.
 */
function matchPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const suffix = prefix.slice(1);
    const at = ref.indexOf(suffix);
    if (at < 0 || ref.slice(0, at).includes('/')) return -1;
    const end = at + suffix.length;
    return end === ref.length || ':/@'.includes(ref[end]) ? end : -1;
  }
  if (!ref.startsWith(prefix)) return -1;
  // like containers/image, this lets "example.com" match "example.com:5000"
  return ref.length === prefix.length || ':/@'.includes(ref[prefix.length]) ? prefix.length : -1;
}

export interface PullSource {
  reference: Reference;
  insecure: boolean;
}

export interface RegistryMatch {
  /** The `[[registry]]` entry that applies (longest prefix), undefined when none does. */
  entry?: RegistryEntry;
  /** The reference at the registry's own location, rewritten from the prefix. */
  reference: Reference;
  insecure: boolean;
  blocked: boolean;
  /** Mirrors to try first, in the file's order, with the reference rewritten for each. */
  mirrors: PullSource[];
}

function rewrite(ref: Reference, refText: string, entry: RegistryEntry, loc: string): Reference {
  if (loc === '') return ref;
  const text = loc + refText.slice(matchPrefix(refText, entry.prefix));
  let out: Reference | undefined;
  try {
    out = parseReference(text);
  } catch (err) {
    throw new RegistriesConfError(`${entry.origin}: rewriting ${refText} for prefix "${entry.prefix}" gives "${text}": ${(err as Error).message}`);
  }
  if (!out.domain) throw new RegistriesConfError(`${entry.origin}: rewriting ${refText} for prefix "${entry.prefix}" gives "${text}", which names no registry host`);
  return out;
}

/**
 * The configuration for a fully-qualified reference: the entry with the longest matching prefix, the reference
 * rewritten to its location and to each mirror that serves this kind of reference (by digest or by tag).
 */
export function findRegistry(conf: RegistriesConf, ref: Reference): RegistryMatch {
  if (!ref.domain) throw new HodError('EREFERENCE', `"${formatReference(ref)}" names no registry: resolve short names first`);
  const text = formatReference(ref);
  let entry: RegistryEntry | undefined;
  for (const e of conf.registries) {
    if (matchPrefix(text, e.prefix) >= 0 && e.prefix.length > (entry?.prefix.length ?? 0)) entry = e;
  }
  if (!entry) return { reference: ref, insecure: false, blocked: false, mirrors: [] };
  const digested = ref.digest !== undefined;
  const mirrors = entry.mirrors.filter((m) =>
    entry.mirrorByDigestOnly ? digested : m.pullFromMirror === 'all' || (m.pullFromMirror === 'digest-only') === digested,
  );
  return {
    entry,
    reference: rewrite(ref, text, entry, entry.location),
    insecure: entry.insecure,
    blocked: entry.blocked,
    mirrors: mirrors.map((m) => ({ reference: rewrite(ref, text, entry, m.location), insecure: m.insecure })),
  };
}

/** Throws when the configuration blocks pulls from the reference's registry. */
export function assertNotBlocked(match: RegistryMatch, ref: Reference): void {
  if (match.blocked) {
    throw new HodError('EBLOCKED', `registry ${match.entry!.prefix} is blocked in ${match.entry!.origin}: cannot pull ${formatReference(ref)}`);
  }
}
