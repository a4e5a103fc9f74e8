/**
 * registries.d: where signatures of images in a registry live, as containers/image reads it. Every `*.yaml`
 * of `~/.config/containers/registries.d` (when that directory exists) else `/etc/containers/registries.d`
 * is merged; a `docker:` entry applies to its scope (a registry, a namespace, a repository, as in
 * policy.json), `default-docker:` to the rest. `lookaside` is read and, without `lookaside-staging`,
 * written; `use-sigstore-attachments` keeps sigstore signatures in the registry beside the image.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRealRoot } from '../store/userns.js';
import { SignatureError } from './types.js';

interface Namespace {
  lookaside?: string;
  lookasideStaging?: string;
  useSigstoreAttachments?: boolean;
  origin: string;
}

export interface RegistriesD {
  dir: string;
  defaultDocker?: Namespace;
  docker: Map<string, Namespace>;
}

export function registriesDDir(home = os.homedir()): string {
  const user = path.join(home, '.config', 'containers', 'registries.d');
  return fs.existsSync(user) ? user : '/etc/containers/registries.d';
}

const KEYS: Record<string, keyof Omit<Namespace, 'origin'>> = {
  lookaside: 'lookaside',
  sigstore: 'lookaside', // the old name
  'lookaside-staging': 'lookasideStaging',
  'sigstore-staging': 'lookasideStaging',
  'use-sigstore-attachments': 'useSigstoreAttachments',
};

function namespaceOf(v: unknown, where: string): Namespace {
  if (v === null || v === undefined) return { origin: where };
  if (typeof v !== 'object' || Array.isArray(v)) throw new SignatureError('policy', `${where}: expected a mapping`);
  const ns: Namespace = { origin: where };
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const key = KEYS[k];
    if (!key) continue; // containers/image ignores what it does not know
    if (key === 'useSigstoreAttachments') {
      if (typeof val !== 'boolean') throw new SignatureError('policy', `${where}: ${k} must be true or false`);
      ns.useSigstoreAttachments = val;
    } else {
      if (typeof val !== 'string') throw new SignatureError('policy', `${where}: ${k} must be a URL`);
      // the current name wins over the old one in the same entry
      if (ns[key] === undefined || !k.startsWith('sigstore')) ns[key] = val;
    }
  }
  return ns;
}

export async function loadRegistriesD(dir = registriesDDir()): Promise<RegistriesD> {
  const conf: RegistriesD = { dir, docker: new Map() };
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return conf;
    throw err;
  }
  // the YAML parser loads only when there is YAML to read (~10 ms): most machines have no registries.d
  const parseYaml = names.length ? (await import('yaml')).parse : undefined;
  for (const name of names) {
    const file = path.join(dir, name);
    let doc: unknown;
    try {
      doc = parseYaml!(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      const e = err as Error & { linePos?: { line: number; col: number }[] };
      const at = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
      throw new SignatureError('policy', `${file}${at}: not valid YAML: ${e.message.split('\n')[0]}`);
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new SignatureError('policy', `${file}: expected a mapping with default-docker and docker`);
    const d = doc as Record<string, unknown>;
    if (d['default-docker'] !== undefined) {
      if (conf.defaultDocker) throw new SignatureError('policy', `"default-docker" is defined both in ${conf.defaultDocker.origin} and ${file}`);
      conf.defaultDocker = namespaceOf(d['default-docker'], file);
    }
    if (d.docker !== undefined && d.docker !== null) {
      if (typeof d.docker !== 'object' || Array.isArray(d.docker)) throw new SignatureError('policy', `${file}: "docker" must map scopes to settings`);
      for (const [scope, v] of Object.entries(d.docker as Record<string, unknown>)) {
        const prev = conf.docker.get(scope);
        if (prev) throw new SignatureError('policy', `"docker" scope "${scope}" is defined both in ${prev.origin} and ${file}`);
        conf.docker.set(scope, namespaceOf(v, `${file}: docker."${scope}"`));
      }
    }
  }
  return conf;
}

/** The first of the scopes (most specific first), then default-docker, that sets `pick`. */
function first<T>(conf: RegistriesD, scopes: string[], pick: (ns: Namespace) => T | undefined): T | undefined {
  for (const s of scopes) {
    const ns = conf.docker.get(s);
    const v = ns && pick(ns);
    if (v !== undefined) return v;
  }
  return conf.defaultDocker && pick(conf.defaultDocker);
}

/**
 * The look-aside base URL for a repository (its path appended), for reading or writing. Without any
 * configuration, containers/image's built-in default: /var/lib/containers/sigstore for root, else
 * ~/.local/share/containers/sigstore.
 */
export function lookasideBase(conf: RegistriesD, scopes: string[], repoPath: string, write: boolean): URL {
  const configured = first(conf, scopes, (ns) => (write ? ns.lookasideStaging ?? ns.lookaside : ns.lookaside));
  let base: URL;
  try {
    base = configured ? new URL(configured) : new URL(`file://${isRealRoot() ? '/var/lib/containers/sigstore' : path.join(os.homedir(), '.local/share/containers/sigstore')}`);
  } catch {
    throw new SignatureError('policy', `registries.d (${conf.dir}): "${configured}" is not a URL`);
  }
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/${repoPath}`;
  return base;
}

/** Whether sigstore signatures of this scope live in the registry as attachments; undefined when unsaid. */
export function sigstoreAttachments(conf: RegistriesD, scopes: string[]): boolean | undefined {
  return first(conf, scopes, (ns) => ns.useSigstoreAttachments);
}
