/** `-v SRC:DEST[:OPTIONS]` and `--mount type=bind|tmpfs,...` as runtime-spec mounts, checked as given. */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Mount } from './spec.js';

function absDest(dest: string | undefined, flag: string): string {
  if (!dest || !dest.startsWith('/')) throw new UsageError(`${flag}: the destination must be an absolute path in the container (got "${dest ?? ''}")`);
  return path.posix.normalize(dest);
}

function hostSource(src: string, flag: string): string {
  const abs = path.resolve(src);
  if (!fs.existsSync(abs)) throw new UsageError(`${flag}: ${abs} does not exist`);
  return abs;
}

/** `SRC:DEST[:ro|rw][,...]`; SELinux labels (z, Z) are accepted and ignored, as on a host without SELinux. */
export function parseVolumeFlag(spec: string): Mount {
  const [src, dest, opts = ''] = spec.split(':');
  if (!src || dest === undefined) throw new UsageError(`--volume "${spec}": expected SOURCE:DESTINATION[:OPTIONS]`);
  const options = ['rbind', 'rprivate'];
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro' || o === 'rw') options.push(o);
    else if (o !== 'z' && o !== 'Z') throw new UsageError(`--volume "${spec}": unknown option "${o}" (ro, rw, z, Z)`);
  }
  return { destination: absDest(dest, '--volume'), type: 'bind', source: hostSource(src, '--volume'), options };
}

/** `type=bind,source=S,destination=D[,ro]` or `type=tmpfs,destination=D[,tmpfs-size=N][,tmpfs-mode=M]`. */
export function parseMountFlag(spec: string): Mount {
  const kv = new Map<string, string>();
  const flags = new Set<string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) flags.add(part);
    else kv.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const type = kv.get('type') ?? 'bind';
  const dest = absDest(kv.get('destination') ?? kv.get('dst') ?? kv.get('target'), '--mount');
  const ro = flags.has('ro') || flags.has('readonly') || kv.get('ro') === 'true' || kv.get('readonly') === 'true';
  if (type === 'bind') {
    const src = kv.get('source') ?? kv.get('src');
    if (!src) throw new UsageError(`--mount "${spec}": a bind mount needs source=`);
    return { destination: dest, type: 'bind', source: hostSource(src, '--mount'), options: ['rbind', 'rprivate', ro ? 'ro' : 'rw'] };
  }
  if (type === 'tmpfs') {
    const options = ['nosuid', 'nodev', `mode=${kv.get('tmpfs-mode') ?? '1777'}`];
    if (kv.has('tmpfs-size')) options.push(`size=${kv.get('tmpfs-size')}`);
    if (ro) options.push('ro');
    return { destination: dest, type: 'tmpfs', source: 'tmpfs', options };
  }
  throw new UsageError(`--mount "${spec}": type "${type}" is not supported (bind, tmpfs)`);
}
