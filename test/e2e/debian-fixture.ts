/**
 * What the tests of the Debian examples share: the mirror they need, and one debootstrapped Debian base.
 * debootstrap takes a minute or more, so the first test to commit a debian:bookworm keeps it as an OCI layout
 * under /var/tmp, named for the day, and the others pull it from there instead of debootstrapping again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hodOk } from '../helpers.js';

export const MIRROR = process.env.MIRROR ?? 'http://deb.debian.org/debian';

/** Fails, never skips, when Debian's mirror cannot be reached: these tests cannot say anything without it. */
export async function requireMirror(): Promise<void> {
  const url = `${MIRROR}/dists/bookworm/InRelease`;
  try {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(20_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    throw new Error(`Debian's mirror is unreachable (${url}: ${(err as Error).message}). These tests debootstrap bookworm and apt-get install from it; give a reachable one in MIRROR.`);
  }
}

const KEPT = '/var/tmp';
const PREFIX = 'hod-debian-bookworm-';
const LAYOUT = path.join(KEPT, PREFIX + new Date().toISOString().slice(0, 10));
const REF = 'bookworm';

/** Keep `root`'s debian:bookworm for the other tests, unless one did today; drops other days' copies. */
export function keepDebianBase(root: string): void {
  if (!fs.existsSync(LAYOUT)) {
    const tmp = fs.mkdtempSync(`${LAYOUT}.tmp-`);
    try {
      hodOk(root, ['push', '-q', 'debian:bookworm', `oci:${tmp}:${REF}`]);
      fs.renameSync(tmp, LAYOUT);
    } catch (err) {
      // another run kept one first: theirs will do
      if (!fs.existsSync(LAYOUT)) throw err;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  for (const name of fs.readdirSync(KEPT)) {
    if (name.startsWith(PREFIX) && !name.includes('.tmp-') && path.join(KEPT, name) !== LAYOUT) fs.rmSync(path.join(KEPT, name), { recursive: true, force: true });
  }
}

/** Put today's kept base into `root` as debian:bookworm; false when no test has kept one. */
export function useDebianBase(root: string): boolean {
  if (!fs.existsSync(LAYOUT)) return false;
  hodOk(root, ['pull', '-q', `oci:${LAYOUT}:${REF}`]);
  hodOk(root, ['tag', `localhost/${REF}`, 'debian:bookworm']);
  hodOk(root, ['rmi', `localhost/${REF}`]);
  return true;
}
