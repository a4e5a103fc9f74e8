/**
 * Image names with a transport prefix, as skopeo and buildah take them: `docker://ref`, `oci:path[:ref]`,
 * `oci-archive:file[:ref]`, `docker-archive:file[:ref]`, `dir:path`. A name without one is a registry
 * reference for pull and a local image for push.
 */
import { HodError } from '../errors.js';
import type { TransportName } from '../image/transport.js';

const KNOWN = ['docker', 'oci', 'oci-archive', 'docker-archive', 'dir'] as const;
const OTHERS = ['docker-daemon', 'containers-storage', 'sif', 'ostree'];

export function parseTransportName(s: string): TransportName | undefined {
  const m = /^([a-z][a-z-]*):(.*)$/s.exec(s);
  if (!m) return undefined;
  const [, transport, rest] = m;
  if ((KNOWN as readonly string[]).includes(transport)) {
    if (transport === 'docker' && !rest.startsWith('//')) throw new HodError('EUSAGE', `"${s}": the docker transport is written docker://host/repo:tag`);
    if (rest === '' || rest === '//') throw new HodError('EUSAGE', `"${s}": the ${transport} transport needs a ${transport === 'docker' ? 'reference' : 'path'}`);
    return { transport: transport as TransportName['transport'], rest: transport === 'docker' ? rest.slice(2) : rest };
  }
  if (OTHERS.includes(transport)) throw new HodError('EUSAGE', `"${s}": the ${transport} transport is not supported by hod`);
  return undefined; // "host:port/repo" or "name:tag" without a transport
}

/** `path[:ref]` of the oci and archive transports; the ref is what follows the last ":" after the last "/". */
export function splitPathRef(rest: string): { path: string; ref?: string } {
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && colon > 0) return { path: rest.slice(0, colon), ref: rest.slice(colon + 1) || undefined };
  return { path: rest };
}
