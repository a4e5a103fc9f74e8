/**
 * Whether hod runs in a user namespace of its own (rootless, after `hod unshare`), where uid 0 is an ordinary
 * user outside: overlay then needs the `userxattr` option and `user.overlay.*` attributes, and the store and
 * runtime state belong to the user, not to /var/lib and /run.
 */
import fs from 'node:fs';

let cached: boolean | undefined;

/** True unless this process sees the initial user namespace's full identity map. */
export function inUserNamespace(): boolean {
  if (cached !== undefined) return cached;
  try {
    const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    cached = !(map.length === 3 && map[0] === '0' && map[1] === '0' && map[2] === '4294967295');
  } catch {
    cached = false;
  }
  return cached;
}

/** Root of the initial namespace: the system store and state are ours. */
export function isRealRoot(): boolean {
  return process.getuid?.() === 0 && !inUserNamespace();
}

/** The uid this process has outside its user namespace (the user who ran `hod unshare`). */
export function outerUid(): number {
  try {
    for (const line of fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n')) {
      const [inside, outside] = line.trim().split(/\s+/);
      if (inside === String(process.getuid?.() ?? 0)) return Number(outside);
    }
  } catch {
    // no /proc: our own uid
  }
  return process.getuid?.() ?? 0;
}
