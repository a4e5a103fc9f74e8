/**
 * Image references, `[host[:port]/]path[:tag][@algorithm:hex]`, parsed with the grammar of
 * distribution/reference, and normalised the way containers/image (docker.io names) and libimage
 * (hod's local names, as buildah and podman name them) do.
 *
 * Pure: no I/O.
 */
import { InvalidReferenceError } from '../errors.js';

export interface Reference {
  /** Registry host with optional port; "" when the reference names none. */
  domain: string;
  /** Slash-separated repository path, without the domain. */
  path: string;
  tag?: string;
  /** `algorithm:hex`. */
  digest?: string;
}

/** Longest repository path distribution accepts (the path alone, without the domain). */
export const MAX_PATH_LENGTH = 255;
export const DEFAULT_TAG = 'latest';
export const DOCKER_DOMAIN = 'docker.io';
const LEGACY_DOCKER_DOMAIN = 'index.docker.io';
const OFFICIAL_NAMESPACE = 'library';

// ---- grammar (distribution/reference) ----
// path-component := [a-z0-9]+ (separator [a-z0-9]+)*; separator := [._] | __ | -+
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// domain := host [':' port]; host := domain-name | '[' ipv6 ']'
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_SYNTAX_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** Hex lengths of the algorithms go-digest registers. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const IMAGE_ID_RE = /^(?:sha256:)?[a-f0-9]{3,64}$/;

/** Whether the first path element names a registry: it has a "." or ":" or is "localhost". */
function isRegistryHost(component: string): boolean {
  return component === 'localhost' || component.includes('.') || component.includes(':');
}

/** The reason a digest string is unacceptable, or undefined when it is fine (go-digest's rules). */
function digestProblem(digest: string): string | undefined {
  if (!DIGEST_SYNTAX_RE.test(digest)) return 'invalid digest format';
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const want = DIGEST_HEX_LENGTH[algorithm];
  if (want === undefined) return `unsupported digest algorithm "${algorithm}"`;
  if (hex.length !== want) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  return undefined;
}

/** The reason a repository path is unacceptable, or undefined. */
function pathProblem(path: string): string | undefined {
  if (path === '') return 'repository name must have at least one component';
  const components = path.split('/');
  let upper = false;
  for (const c of components) {
    if (PATH_COMPONENT_RE.test(c)) continue;
    if (c !== '' && PATH_COMPONENT_RE.test(c.toLowerCase())) {
      upper = true;
      continue;
    }
    return 'invalid reference format';
  }
  if (upper) return 'repository name must be lowercase';
  if (path.length > MAX_PATH_LENGTH) return `repository name must not be more than ${MAX_PATH_LENGTH} characters`;
  return undefined;
}

/**
 * Parses a reference without normalising it: `domain` is "" unless the first of several path elements
 * looks like a registry host. Throws InvalidReferenceError naming the rule broken.
 */
export function parseReference(s: string): Reference {
  if (s === '') throw new InvalidReferenceError(s, 'repository name must have at least one component');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem) throw new InvalidReferenceError(s, problem);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new InvalidReferenceError(s, 'invalid tag format');
  }

  let domain = '';
  let path = rest;
  const slash = rest.indexOf('/');
  // A first element that looks like a host but is not a valid one ("a_b.c/d") is read as a path element,
  // as distribution's grammar does.
  if (slash >= 0 && isRegistryHost(rest.slice(0, slash)) && DOMAIN_RE.test(rest.slice(0, slash))) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  }
  if (path === '' && domain === '') throw new InvalidReferenceError(s, 'repository name must have at least one component');
  const problem = pathProblem(path);
  if (problem) throw new InvalidReferenceError(s, problem === 'repository name must have at least one component' ? 'invalid reference format' : problem);

  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function rejectIdentifier(s: string): void {
  if (IDENTIFIER_RE.test(s)) throw new InvalidReferenceError(s, 'cannot specify 64-byte hexadecimal strings');
}

/** Tag "latest" when there is neither tag nor digest; drop the tag when there are both (Docker does). */
function defaultTag(r: Reference): Reference {
  if (r.digest !== undefined) return { domain: r.domain, path: r.path, digest: r.digest };
  return { domain: r.domain, path: r.path, tag: r.tag ?? DEFAULT_TAG };
}

/** docker.io canonicalisation: index.docker.io -> docker.io, and one-element paths get "library/". */
function canonicalDockerHub(r: Reference): Reference {
  if (r.domain === LEGACY_DOCKER_DOMAIN) r = { ...r, domain: DOCKER_DOMAIN };
  if (r.domain === DOCKER_DOMAIN && !r.path.includes('/')) r = { ...r, path: `${OFFICIAL_NAMESPACE}/${r.path}` };
  return r;
}

/**
 * hod's names for local images, as libimage's NormalizeName gives buildah's: a name without a registry
 * host is put under "localhost/" ("busybox:1" -> "localhost/busybox:1", "a/b" -> "localhost/a/b");
 * docker.io names are canonicalised ("docker.io/alpine" -> "docker.io/library/alpine"); no tag and no
 * digest -> ":latest"; a tag and a digest -> the digest only.
 */
export function normalizeLocal(s: string): Reference {
  rejectIdentifier(s);
  const r = parseReference(s);
  const withDomain = r.domain === '' ? { ...r, domain: 'localhost' } : r;
  return defaultTag(canonicalDockerHub(withDomain));
}

/**
 * The Docker form used to pull (containers/image ParseDockerRef): no registry host -> docker.io, one-element
 * Docker Hub paths under "library/" ("alpine" -> "docker.io/library/alpine:latest"); no tag and no digest
 * -> ":latest"; a tag and a digest -> the digest only.
 */
export function normalizeDocker(s: string): Reference {
  rejectIdentifier(s);
  const r = parseReference(s);
  const withDomain = r.domain === '' ? { ...r, domain: DOCKER_DOMAIN } : r;
  return defaultTag(canonicalDockerHub(withDomain));
}

/** "domain/path" (just "path" when there is no domain). */
export function repositoryOf(r: Reference): string {
  return r.domain ? `${r.domain}/${r.path}` : r.path;
}

/** "domain/path:tag", "domain/path@digest", or "domain/path:tag@digest". */
export function formatReference(r: Reference): string {
  let out = repositoryOf(r);
  if (r.tag !== undefined) out += `:${r.tag}`;
  if (r.digest !== undefined) out += `@${r.digest}`;
  return out;
}

/** Whether `s` could be a (possibly abbreviated) image id: 3 to 64 lower-case hex digits, optionally "sha256:"-prefixed. */
export function looksLikeImageId(s: string): boolean {
  return IMAGE_ID_RE.test(s);
}
