/**
 * Registry credentials in auth files (containers-auth.json(5), Docker's config.json and legacy .dockercfg),
 * found the way containers/image finds them, and written by `hod login` / removed by `hod logout`.
 *
 * Keys are `host[:port]`, `host[:port]/namespace[/repo]` (containers/image's more specific keys) and, in
 * files Docker wrote, `https://host/v1/` URLs. Secrets never appear in an error message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HodError, UsageError } from '../errors.js';
import { parseReference } from '../image/reference.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { Credentials } from './client.js';
import { credentialHelperErase, credentialHelperGet, credentialHelperStore } from './cred-helper.js';

export interface AuthOptions {
  /** `--authfile`: the only file read and written. */
  authfile?: string;
  /** HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, DOCKER_CONFIG, REGISTRY_AUTH_FILE, and PATH for helpers. */
  env?: NodeJS.ProcessEnv;
}

/** An auth file to read; `legacy` is .dockercfg, whose top level is the `auths` map itself. */
export interface AuthPath {
  path: string;
  legacy: boolean;
}

interface AuthEntry {
  auth?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths: Record<string, AuthEntry>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_HOSTS = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io']);
/** The key `docker login` gives Docker Hub, and so the server URL a credsStore knows it by. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

function envOf(opts: AuthOptions): NodeJS.ProcessEnv {
  return opts.env ?? process.env;
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

function runtimeAuthFile(env: NodeJS.ProcessEnv): string {
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return `/run/containers/${process.getuid?.() ?? os.userInfo().uid}/auth.json`;
}

/** The file chosen by the user: --authfile, else $REGISTRY_AUTH_FILE (podman and buildah read it the same way). */
function chosenAuthFile(opts: AuthOptions): string | undefined {
  return opts.authfile || envOf(opts).REGISTRY_AUTH_FILE || undefined;
}

/** Where `hod login` writes: the chosen file, else the runtime directory's auth.json. */
export function writableAuthFile(opts: AuthOptions = {}): string {
  const chosen = chosenAuthFile(opts);
  if (chosen) return chosen;
  const env = envOf(opts);
  if (env.XDG_RUNTIME_DIR && !fs.existsSync(env.XDG_RUNTIME_DIR)) {
    throw new HodError('EAUTHFILE', `"${env.XDG_RUNTIME_DIR}" directory set by $XDG_RUNTIME_DIR does not exist: create it, unset $XDG_RUNTIME_DIR or give --authfile`);
  }
  return runtimeAuthFile(env);
}

/**
 * The files read, in order, first one with an answer wins: the chosen file alone, else the runtime auth.json
 * (skipped when $XDG_RUNTIME_DIR names no directory, as containers/image only warns then), the user's
 * auth.json, Docker's config.json and the legacy ~/.dockercfg.
 */
export function authFiles(opts: AuthOptions = {}): AuthPath[] {
  const chosen = chosenAuthFile(opts);
  if (chosen) return [{ path: chosen, legacy: false }];
  const env = envOf(opts);
  const home = homeOf(env);
  const files: AuthPath[] = [];
  if (!env.XDG_RUNTIME_DIR || fs.existsSync(env.XDG_RUNTIME_DIR)) files.push({ path: runtimeAuthFile(env), legacy: false });
  files.push({ path: path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'), legacy: false });
  files.push({ path: env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(home, '.docker', 'config.json'), legacy: false });
  files.push({ path: path.join(home, '.dockercfg'), legacy: true });
  return files;
}

function canonicalHost(host: string): string {
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB : host;
}

/**
 * A key as `hod login` / `hod logout` take it: a URL becomes its `host[:port]` (as podman does), Docker Hub's
 * host names become "docker.io"; `host/namespace/repo` keys stay as they are.
 */
export function normalizeAuthKey(key: string): string {
  const url = /^https?:\/\/([^/]+)/i.exec(key);
  const k = url ? url[1] : key.replace(/\/+$/, '');
  const slash = k.indexOf('/');
  return slash < 0 ? canonicalHost(k) : canonicalHost(k.slice(0, slash)) + k.slice(slash);
}

/** How a key already in a file compares with a registry: URL forms reduce to their host (containers/image). */
function fileKeyRegistry(key: string, legacy: boolean): string {
  const bare = key.replace(/^https?:\/\//i, '');
  return canonicalHost(legacy || bare !== key ? bare.split('/')[0] : bare);
}

/** Checks a login key: a registry, or a repository path in one, without tag or digest. Returns its registry. */
function checkKey(key: string): string {
  const slash = key.indexOf('/');
  const host = slash < 0 ? key : key.slice(0, slash);
  const bad = (why: string): never => {
    throw new UsageError(`"${key}" is not a registry or a repository in one (host[:port][/namespace...]): ${why}`);
  };
  if (!host) bad('no registry host');
  if (key.includes('@')) bad('it has a digest');
  if (slash >= 0) {
    if (key.slice(slash + 1).includes(':')) bad('it has a tag');
    let ref;
    try {
      ref = parseReference(key);
    } catch (err) {
      bad((err as Error).message);
    }
    if (ref?.domain !== host) bad(`"${host}" is not a registry host name`);
  }
  return host;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The file as JSON, undefined when it does not exist; an empty file counts as empty. */
function readRaw(file: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new HodError('EAUTHFILE', `reading credentials from ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HodError('EAUTHFILE', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) throw new HodError('EAUTHFILE', `${file}: not a JSON object`);
  return parsed;
}

/** The parts of a file this module reads, with their types checked. */
function readAuthFile(p: AuthPath): AuthFile | undefined {
  const raw = readRaw(p.path);
  if (!raw) return undefined;
  const bad = (what: string): never => {
    throw new HodError('EAUTHFILE', `${p.path}: ${what}`);
  };
  const auths = p.legacy ? raw : raw.auths ?? {};
  const helpers = p.legacy ? {} : raw.credHelpers ?? {};
  if (!isRecord(auths)) bad('"auths" is not an object');
  if (!isRecord(helpers)) bad('"credHelpers" is not an object');
  for (const [k, v] of Object.entries(auths as object)) if (!isRecord(v)) bad(`the entry for "${k}" is not an object`);
  for (const [k, v] of Object.entries(helpers as object)) if (typeof v !== 'string') bad(`credHelpers["${k}"] is not a string`);
  const store = p.legacy ? undefined : raw.credsStore;
  if (store !== undefined && typeof store !== 'string') bad('"credsStore" is not a string');
  return { auths: auths as Record<string, AuthEntry>, credHelpers: helpers as Record<string, string>, credsStore: (store as string | undefined) || undefined };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decode(entry: AuthEntry, file: string, key: string): Credentials | undefined {
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth === undefined || entry.auth === '') return undefined;
  if (typeof entry.auth !== 'string' || !BASE64_RE.test(entry.auth) || entry.auth.length % 4 === 1) {
    throw new HodError('EAUTHFILE', `${file}: the "auth" of "${key}" is not base64 of user:password`);
  }
  const text = Buffer.from(entry.auth, 'base64').toString();
  const colon = text.indexOf(':');
  // Docker skips such entries rather than failing (and writes "{}" for registries a helper keeps)
  if (colon < 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

/** `key` itself, then with its last path element dropped, down to the registry: the most specific wins. */
function lookupOrder(key: string): string[] {
  const order = [key];
  for (let k = key; k.includes('/'); ) order.push((k = k.slice(0, k.lastIndexOf('/'))));
  return order;
}

/** The file's helper for a registry, and the server name the helper knows it by. */
function helperFor(f: AuthFile, registry: string, legacy: boolean): { helper: string; server: string } | undefined {
  if (f.credHelpers[registry]) return { helper: f.credHelpers[registry], server: registry };
  const k = Object.keys(f.credHelpers).find((h) => f.credHelpers[h] && fileKeyRegistry(h, legacy) === registry);
  return k === undefined ? undefined : { helper: f.credHelpers[k], server: k };
}

async function fromFile(p: AuthPath, key: string, registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const f = readAuthFile(p);
  if (!f) return undefined;
  // helpers hold whole registries, never namespaces (as in containers/image)
  const h = helperFor(f, registry, p.legacy);
  if (h) return credentialHelperGet(h.helper, h.server, env);
  let found = (p.legacy ? [registry] : lookupOrder(key)).find((k) => Object.hasOwn(f.auths, k));
  found ??= Object.keys(f.auths).find((k) => fileKeyRegistry(k, p.legacy) === registry);
  const creds = found === undefined ? undefined : decode(f.auths[found], p.path, found);
  if (creds) return creds;
  if (f.credsStore) return credentialHelperGet(f.credsStore, registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry, env);
  return undefined;
}

/**
 * Credentials for a registry (`host[:port]`; Docker Hub as "docker.io" or its other host names), or for
 * `repository` in it, whose more specific `host/namespace/repo` keys win over the registry's own. Matches the
 * client's `(host) => Promise<Credentials | undefined>` once the first argument is bound.
 */
export async function getCredentials(registry: string, opts: AuthOptions & { repository?: string } = {}): Promise<Credentials | undefined> {
  const host = canonicalHost(registry);
  const key = opts.repository ? `${host}/${opts.repository}` : host;
  for (const p of authFiles(opts)) {
    const creds = await fromFile(p, key, host, envOf(opts));
    if (creds) return creds;
  }
  return undefined;
}

/** `--get-login`: the user name saved for a registry or repository key, undefined when there is none. */
export async function getLogin(key: string, opts: AuthOptions = {}): Promise<string | undefined> {
  const k = normalizeAuthKey(key);
  const registry = checkKey(k);
  const creds = await getCredentials(registry, { ...opts, repository: k.slice(registry.length + 1) || undefined });
  return creds && 'username' in creds ? creds.username : undefined;
}

/** Replace `file` by rename; the staged copy is 0600 from its first byte, never readable by others. */
function writeAuthFile(file: string, data: Record<string, unknown>): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(data, null, '\t') + '\n', dir, 0o600);
}

/** The writable file's JSON with its auths and credHelpers checked, other fields kept as they are. */
function readForEdit(file: string): { raw: Record<string, unknown>; f: AuthFile } {
  const raw = readRaw(file) ?? {};
  return { raw, f: readAuthFile({ path: file, legacy: false }) ?? { auths: {}, credHelpers: {} } };
}

/**
 * Save a login under `key` (a registry or a repository in one): in the helper the file names for that
 * registry, else in `auths` of the writable file, which is created 0600 in 0700 directories, keeps every
 * other entry and field, and is replaced by rename. Returns where the credentials went.
 */
export function saveCredentials(key: string, username: string, password: string, opts: AuthOptions = {}): string {
  const k = normalizeAuthKey(key);
  checkKey(k);
  const file = writableAuthFile(opts);
  const { raw, f } = readForEdit(file);
  if (f.credHelpers[k]) {
    credentialHelperStore(f.credHelpers[k], k, username, password, opts.env);
    return `credential helper: ${f.credHelpers[k]}`;
  }
  raw.auths = { ...f.auths, [k]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  writeAuthFile(file, raw);
  return file;
}

/**
 * Remove the login saved under `key` from the writable file (and from the helper it names for that registry),
 * or every login with `key` undefined (`--all`). Returns whether there was anything to remove.
 */
export function removeCredentials(key: string | undefined, opts: AuthOptions = {}): boolean {
  const k = key === undefined ? undefined : normalizeAuthKey(key);
  if (k !== undefined) checkKey(k);
  const file = writableAuthFile(opts);
  if (!fs.existsSync(file)) return false;
  const { raw, f } = readForEdit(file);
  if (k === undefined) {
    for (const [registry, helper] of Object.entries(f.credHelpers)) credentialHelperErase(helper, registry, opts.env);
    const had = Object.keys(f.auths).length + Object.keys(f.credHelpers).length > 0;
    if (had) writeAuthFile(file, { ...raw, auths: {}, credHelpers: {} });
    return had;
  }
  let removed = f.credHelpers[k] ? credentialHelperErase(f.credHelpers[k], k, opts.env) : false;
  const namespaced = k.includes('/');
  const kept = Object.entries(f.auths).filter(([fk]) => !(fk === k || (!namespaced && fileKeyRegistry(fk, false) === k)));
  if (kept.length < Object.keys(f.auths).length) {
    writeAuthFile(file, { ...raw, auths: Object.fromEntries(kept) });
    removed = true;
  }
  return removed;
}
