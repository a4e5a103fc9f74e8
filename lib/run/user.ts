/**
 * `--user` (or the image's User) resolved the way buildah and runc resolve it: `name`, `uid`, `name:group`,
 * `uid:gid`, names looked up in the root filesystem's /etc/passwd and /etc/group, with the user's
 * supplementary groups from /etc/group. The files are read through safeJoin: the root filesystem is the
 * image's, and a symlink there must not make hod read the host's.
 */
import fs from 'node:fs';
import { HodError } from '../errors.js';
import { safeJoin } from '../store/pathsafe.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From /etc/passwd, for HOME; "/" when the user has no entry. */
  home: string;
}

function readLines(rootfs: string, file: string): string[][] {
  let text: string;
  try {
    text = fs.readFileSync(safeJoin(rootfs, file, { followFinal: true }), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

const isId = (s: string) => /^\d+$/.test(s);

export function resolveUser(rootfs: string, spec: string | undefined): ResolvedUser {
  const [user = '', group] = (spec || '0').split(':', 2);
  const passwd = readLines(rootfs, '/etc/passwd');
  const groups = readLines(rootfs, '/etc/group');
  const entry = passwd.find((p) => (isId(user) ? p[2] === user : p[0] === user));
  if (!entry && !isId(user)) throw new HodError('EUSER', `user "${user}" is not in the container's /etc/passwd`);
  const uid = Number(entry ? entry[2] : user);
  const name = entry?.[0];
  let gid: number;
  if (group === undefined || group === '') gid = entry ? Number(entry[3]) : 0;
  else if (isId(group)) gid = Number(group);
  else {
    const g = groups.find((x) => x[0] === group);
    if (!g) throw new HodError('EUSER', `group "${group}" is not in the container's /etc/group`);
    gid = Number(g[2]);
  }
  // the primary group, and the supplementary groups only when no group was given, as Docker and buildah set them
  const supplementary = group === undefined && name ? groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])) : [];
  return { uid, gid, additionalGids: [...new Set([gid, ...supplementary])], home: entry?.[5] || '/' };
}
