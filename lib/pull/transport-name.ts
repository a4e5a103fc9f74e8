/**
 * Image names with a transport prefix, as skopeo and buildah take them: `docker://ref`, `oci:path[:ref]`,
 * `oci-archive:file[:ref]`, `docker-archive:file[:ref]`, `dir:path`. A name without one is a registry
 * reference for pull and a local image for push. The per-transport parts are split as containers/image
 * splits them, so a name means the same to hod and to skopeo.
 */
import { HodError } from '../errors.js';
import { formatReference, normalizeDocker, parseReference } from '../image/reference.js';
import type { TransportName } from '../image/transport.js';

const KNOWN = ['docker', 'oci', 'oci-archive', 'docker-archive', 'dir'] as const;
const OTHERS = ['docker-daemon', 'containers-storage', 'sif', 'ostree', 'tarball', 'atomic'];
const LIST = 'docker://, oci:, oci-archive:, docker-archive:, dir:';

function usage(message: string): HodError {
  return new HodError('EUSAGE', message);
}

/**
 * The transport of `s`, or undefined when `s` has none and reads as a registry reference ("busybox:1",
 * "host:5000/a"). A prefix that is neither a transport hod knows nor part of a reference is an error.
 */
export function parseTransportName(s: string): TransportName | undefined {
  const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(s);
  if (!m) return undefined;
  const [, transport, rest] = m;
  if ((KNOWN as readonly string[]).includes(transport)) {
    if (transport === 'docker' && !rest.startsWith('//')) throw usage(`"${s}": the docker transport is written docker://host/repo:tag`);
    if (rest === '' || rest === '//') throw usage(`"${s}": the ${transport} transport needs a ${transport === 'docker' ? 'reference' : 'path'}`);
    return { transport: transport as TransportName['transport'], rest: transport === 'docker' ? rest.slice(2) : rest };
  }
  if (OTHERS.includes(transport)) throw usage(`"${s}": the ${transport}: transport is not supported by hod (it knows ${LIST})`);
  // "name:tag", "name:tag@digest" and "host:port/path" are references; anything else had a transport in mind
  if (/^[0-9]+(\/|$)/.test(rest) || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@.*)?$/.test(rest)) return undefined;
  throw usage(`"${s}": unknown transport "${transport}:" (hod knows ${LIST})`);
}

/** Like parseTransportName where a name must carry its transport, as skopeo's arguments do. */
export function requireTransportName(s: string): TransportName {
  const t = parseTransportName(s);
  if (!t) throw usage(`"${s}" names no transport: write it as one of ${LIST}`);
  return t;
}

/**
 * `path[:ref]` of the oci and archive transports, split at the first ":" as containers/image does on Linux
 * (a path cannot contain ":"; a ref can: `oci:dir:example.com/app:1`).
 */
export function splitPathRef(rest: string): { path: string; ref?: string } {
  const colon = rest.indexOf(':');
  if (colon < 0) return { path: rest };
  return { path: rest.slice(0, colon), ref: rest.slice(colon + 1) || undefined };
}

/** Which image of a layout or archive: by name, by position (`@N`, zero-based), or the only one. */
export interface ImageSelector {
  ref?: string;
  index?: number;
}

/** How a selector is written after the path: ":ref", ":@N" or nothing. */
export function selectorSuffix(select: ImageSelector): string {
  return select.ref !== undefined ? `:${select.ref}` : select.index !== undefined ? `:@${select.index}` : '';
}

export interface FileName extends ImageSelector {
  path: string;
}

function splitSelector(t: TransportName): FileName {
  const { path, ref } = splitPathRef(t.rest);
  if (path === '') throw usage(`"${t.transport}:${t.rest}": the ${t.transport} transport needs a path before ":"`);
  if (ref === undefined || !ref.startsWith('@')) return { path, ref };
  if (!/^@[0-9]+$/.test(ref)) throw usage(`"${t.transport}:${t.rest}": "${ref}" is not a source index (@0, @1, ...)`);
  return { path, index: Number(ref.slice(1)) };
}

// the image-spec's grammar for org.opencontainers.image.ref.name, which containers/image enforces
const COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const OCI_REF_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);

/** `oci:path[:ref|:@N]` and `oci-archive:file[:ref|:@N]`. */
export function parseLayoutName(t: TransportName): FileName {
  const name = splitSelector(t);
  if (name.ref !== undefined && !OCI_REF_RE.test(name.ref)) {
    throw usage(`"${t.transport}:${t.rest}": "${name.ref}" is not a valid image ref (letters, digits and -._:@+ separators, "/" between parts)`);
  }
  return name;
}

/**
 * `docker-archive:file[:ref|:@N]`. The ref is a Docker reference, normalised as docker save's RepoTags are
 * ("busybox" -> "docker.io/library/busybox:latest"); digests are refused, as skopeo refuses them.
 */
export function parseDockerArchiveName(t: TransportName): FileName {
  const name = splitSelector(t);
  if (name.ref === undefined) return name;
  if (parseReference(name.ref).digest !== undefined) throw usage(`"${t.transport}:${t.rest}": docker-archive names images by tag, not by digest`);
  return { path: name.path, ref: formatReference(normalizeDocker(name.ref)) };
}

/** `dir:path`: the whole rest is the path. */
export function parseDirName(t: TransportName): FileName {
  return { path: t.rest };
}
