/**
 * Registry credentials in the containers auth.json format (containers-auth.json(5)), read in the order
 * containers/image reads them, and written by `hod login` / removed by `hod logout`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HodError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { Credentials } from './client.js';
import { credentialHelperGet } from './cred-helper.js';

export interface AuthOptions {
  /** `--authfile`: the only file read and written. */
  authfile?: string;
  env?: NodeJS.ProcessEnv;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

function runtimeAuthFile(env: NodeJS.ProcessEnv): string {
  return env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json') : path.join('/run/containers', String(os.userInfo().uid), 'auth.json');
}

/** Where `hod login` writes: --authfile, $REGISTRY_AUTH_FILE, else the runtime directory's auth.json. */
export function writableAuthFile(opts: AuthOptions = {}): string {
  const env = opts.env ?? process.env;
  return opts.authfile ?? env.REGISTRY_AUTH_FILE ?? runtimeAuthFile(env);
}

/** The files read, first match wins. */
export function authFiles(opts: AuthOptions = {}): string[] {
  const env = opts.env ?? process.env;
  if (opts.authfile) return [opts.authfile];
  const home = env.HOME ?? os.homedir();
  return [
    ...(env.REGISTRY_AUTH_FILE ? [env.REGISTRY_AUTH_FILE] : []),
    runtimeAuthFile(env),
    path.join(home, '.config', 'containers', 'auth.json'),
    path.join(home, '.docker', 'config.json'),
  ];
}

function readAuthFile(file: string): AuthFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (err) {
    throw new HodError('EAUTHFILE', `${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** "https://index.docker.io/v1/" -> "docker.io", "https://host:5000/" -> "host:5000". */
export function normalizeAuthKey(key: string): string {
  const bare = key.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
  return bare === 'index.docker.io' || bare === 'registry-1.docker.io' ? 'docker.io' : bare;
}

function decode(entry: { auth?: string; identitytoken?: string }, where: string): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (!entry.auth) return undefined;
  const text = Buffer.from(entry.auth, 'base64').toString();
  const colon = text.indexOf(':');
  if (colon < 0) throw new HodError('EAUTHFILE', `${where}: the auth entry is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Credentials for a registry (`host[:port]`, "docker.io" for Docker Hub), and for a repository in it when
 * `repository` is given: a `host/namespace/repo` key wins over a shorter one, as containers/image does.
 */
export async function getCredentials(registry: string, opts: AuthOptions & { repository?: string } = {}): Promise<Credentials | undefined> {
  const wanted = normalizeAuthKey(registry);
  for (const file of authFiles(opts)) {
    const f = readAuthFile(file);
    if (!f) continue;
    const helper = f.credHelpers?.[wanted];
    if (helper) return credentialHelperGet(helper, wanted);
    const keys = Object.keys(f.auths ?? {}).map((k) => [k, normalizeAuthKey(k)] as const);
    const scoped = opts.repository ? `${wanted}/${opts.repository}` : undefined;
    // longest matching key: host/ns/repo, then host/ns, then host
    const match = keys
      .filter(([, n]) => n === wanted || (scoped !== undefined && (scoped === n || scoped.startsWith(`${n}/`))))
      .sort((x, y) => y[1].length - x[1].length)[0];
    if (match) {
      const creds = decode(f.auths![match[0]], `${file}: ${match[0]}`);
      if (creds) return creds;
    }
    if (f.credsStore) {
      const creds = await credentialHelperGet(f.credsStore, wanted);
      if (creds) return creds;
    }
  }
  return undefined;
}

/** Save a login: the file is created 0600 in a 0700 directory, other entries kept, written by rename. */
export function saveCredentials(key: string, username: string, password: string, opts: AuthOptions = {}): string {
  const file = writableAuthFile(opts);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const f = readAuthFile(file) ?? {};
  f.auths = { ...f.auths, [normalizeAuthKey(key)]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  writeFileAtomic(file, JSON.stringify(f, null, '\t') + '\n', path.dirname(file));
  fs.chmodSync(file, 0o600);
  return file;
}

/** Remove a login (or all with `key` undefined); returns whether there was one. */
export function removeCredentials(key: string | undefined, opts: AuthOptions = {}): boolean {
  const file = writableAuthFile(opts);
  const f = readAuthFile(file);
  if (!f?.auths) return false;
  const before = Object.keys(f.auths).length;
  const wanted = key === undefined ? undefined : normalizeAuthKey(key);
  f.auths = Object.fromEntries(Object.entries(f.auths).filter(([k]) => wanted !== undefined && normalizeAuthKey(k) !== wanted));
  if (Object.keys(f.auths).length === before) return false;
  writeFileAtomic(file, JSON.stringify(f, null, '\t') + '\n', path.dirname(file));
  fs.chmodSync(file, 0o600);
  return true;
}
