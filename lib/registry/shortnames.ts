/**
 * Short names (`alpine`, `team/app:1`: no registry host) resolved for a pull as containers/image's
 * pkg/shortnames does: an alias if there is one (the user's short-name-aliases.conf first, then the
 * `[aliases]` of registries.conf), else one candidate per unqualified-search registry, in order, which the
 * short-name mode allows, refuses, or leaves to the user to choose from.
 */
import os from 'node:os';
import path from 'node:path';
import { HodError } from '../errors.js';
import { formatReference, normalizeDocker, parseReference, type Reference } from '../image/reference.js';
import { readAliasFile, type Alias, type RegistriesConf } from './registries-conf.js';

export interface ShortNameOptions {
  /**
   * The caller can ask the user on a terminal. Then several candidates are for the user to choose one from
   * (containers/image prompts in enforcing and permissive modes); without a terminal, enforcing mode refuses
   * them and permissive mode returns them all, to be tried in order.
   */
  interactive?: boolean;
  /** short-name-aliases.conf to read first; null for none; default: aliasCachePath(). */
  aliasCache?: string | null;
  /** HOME and XDG_CACHE_HOME, for the default alias cache. */
  env?: NodeJS.ProcessEnv;
}

export class ShortNameError extends HodError {
  constructor(message: string) {
    super('ESHORTNAME', message);
  }
}

/** Where podman and buildah record the short names a user chose: /var/cache for root, else the user's cache. */
export function aliasCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (process.geteuid?.() === 0) return '/var/cache/containers/short-name-aliases.conf';
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache'), 'containers', 'short-name-aliases.conf');
}

/** Whether `name` names no registry host, so that it needs resolving. */
export function isShortName(name: string): boolean {
  return parseReference(name).domain === '';
}

/** The alias of a repository name; a cache entry, even one that resets the alias, hides registries.conf's. */
function findAlias(repo: string, conf: RegistriesConf, opts: ShortNameOptions): Alias | undefined {
  const cacheFile = opts.aliasCache === undefined ? aliasCachePath(opts.env) : opts.aliasCache;
  const cached = cacheFile === null ? undefined : readAliasFile(cacheFile).get(repo);
  return cached ?? conf.aliases.get(repo);
}

/** The alias target with the tag or digest the user gave; ":latest" when neither (a digest wins over a tag). */
function withVersion(target: Reference, given: Reference): Reference {
  if (given.digest) return { domain: target.domain, path: target.path, digest: given.digest };
  return { domain: target.domain, path: target.path, tag: given.tag ?? 'latest' };
}

/**
 * The references a name may mean, normalized, in the order to try them. A fully-qualified name is returned
 * as it is (normalized). Throws ShortNameError when no unqualified-search registry is configured, or when
 * enforcing mode leaves a non-interactive caller with more than one candidate.
 */
export function resolveShortName(name: string, conf: RegistriesConf, opts: ShortNameOptions = {}): Reference[] {
  const normalized = normalizeDocker(name); // validates, with the reference grammar's own errors
  const given = parseReference(name);
  if (given.domain) return [normalized];

  const alias = findAlias(given.path, conf, opts);
  if (alias?.target) return [withVersion(alias.target, given)];

  const search = conf.unqualifiedSearchRegistries;
  if (search.length === 0) {
    const where = conf.searchOrigin || conf.files.join(', ');
    throw new ShortNameError(
      `short name "${name}" did not resolve to an alias and ${where ? `no unqualified-search registries are defined in ${where}` : 'no containers-registries.conf(5) was found'}: ` +
        `give a fully-qualified name (e.g. docker.io/${name}) or set unqualified-search-registries`,
    );
  }
  const candidates = search.map((registry) => normalizeDocker(`${registry}/${name}`));
  if (candidates.length === 1 || conf.shortNameMode !== 'enforcing' || opts.interactive) return candidates;
  throw new ShortNameError(
    `short name "${name}" is ambiguous: it may mean ${candidates.map(formatReference).join(', ')}; short-name-mode is "enforcing" ` +
      `(${conf.shortNameModeOrigin}) and there is no terminal to choose on: give a fully-qualified name, or add "${given.path}" to [aliases] in registries.conf`,
  );
}
