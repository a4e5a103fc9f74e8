/**
 * `hod unshare`: a command in a user namespace where the user is root, mapped from /etc/subuid and
 * /etc/subgid (uid 0 = the user, 1..N = their subordinate ids), with a mount namespace of its own, so a
 * non-root user can mount overlays, chown files, run runc and commit. util-linux's unshare does the mapping
 * with newuidmap/newgidmap (package uidmap), as `--map-auto --map-root-user`.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { HodError, SystemError } from '../errors.js';

export interface SubRange {
  start: number;
  count: number;
}

/** The user's first range in an /etc/subuid-style file, by name or uid. */
export function subordinateRange(file: string, user: string, uid: number): SubRange | undefined {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user || who === String(uid)) && /^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '') && Number(count) > 0) {
      return { start: Number(start), count: Number(count) };
    }
  }
  return undefined;
}

/** What is missing for a user namespace, in one line, or nothing. */
export function userNamespaceProblem(): string | undefined {
  const { username, uid } = os.userInfo();
  for (const [file, kind] of [['/etc/subuid', 'uids'], ['/etc/subgid', 'gids']] as const) {
    if (!subordinateRange(file, username, uid)) {
      return `no subordinate ${kind} for user "${username}" in ${file}: as root, add a range with \`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${username}\``;
    }
  }
  for (const tool of ['newuidmap', 'newgidmap']) {
    if (!['/usr/bin', '/bin', '/usr/sbin'].some((d) => fs.existsSync(`${d}/${tool}`))) return `${tool} is missing: install the Debian package uidmap`;
  }
  return undefined;
}

const UNSHARE = ['--user', '--map-auto', '--map-root-user', '--mount', '--propagation', 'private'];

/**
 * Whether the namespace can be made here, tried once with nothing else to run: the command's own exit status
 * could not tell a failed mapping from its own failure. In a container the mapping tools are what fail.
 */
function tryNamespace(): string | undefined {
  const r = spawnSync('unshare', [...UNSHARE, 'true'], { encoding: 'utf8' });
  if (r.error) return `cannot start unshare (util-linux): ${r.error.message}`;
  if (r.status === 0) return undefined;
  const err = r.stderr.trim().split('\n').pop() ?? '';
  if (/newuidmap|newgidmap|uid_map|gid_map/.test(err)) {
    return `cannot map the user namespace (${err}): without CAP_SYS_ADMIN, as in a pod, newuidmap and newgidmap need file capabilities instead of setuid (setcap cap_setuid+ep /usr/bin/newuidmap; setcap cap_setgid+ep /usr/bin/newgidmap) and the pod CAP_SETUID and CAP_SETGID`;
  }
  if (/Operation not permitted|Permission denied/.test(err)) {
    return `cannot make a user namespace (${err}): the seccomp profile or kernel.unprivileged_userns_clone forbids it; allow unshare and clone with CLONE_NEWUSER`;
  }
  return `cannot make a user namespace: ${err}`;
}

/** Run `argv` in a new user and mount namespace; resolves to its exit code. */
export function unshare(argv: string[]): Promise<number> {
  const problem = userNamespaceProblem() ?? tryNamespace();
  if (problem) throw new HodError('EUSERNS', problem);
  const child = spawn('unshare', [...UNSHARE, '--', ...argv], {
    stdio: 'inherit',
    env: { ...process.env, _HOD_USERNS: '1' },
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new SystemError(`cannot start unshare (util-linux): ${err.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
  }).finally(() => {
    for (const s of signals) process.off(s, forward);
  });
}
