/**
 * Which root filesystem driver a store uses when none is given: kernel overlay for root; in a user
 * namespace (rootless) kernel overlay where the kernel allows it there, else fuse-overlayfs where it and
 * /dev/fuse can be used, else vfs (plain copies). The rootless choice is probed once, by mounting, and kept in
 * the store (`storage-driver`), so every later run agrees; outside a user namespace a non-root process cannot
 * probe and takes what was kept, else overlay (the verbs that mount enter the namespace first anyway).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DriverName } from './store.js';
import { inUserNamespace, isRealRoot } from './userns.js';

const KEPT = 'storage-driver';

function mounts(cmd: string, args: string[], dir: string): boolean {
  const m = path.join(dir, 'm');
  try {
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    execFileSync(cmd, [...args, m], { stdio: 'ignore', cwd: dir });
    execFileSync('umount', [m], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function probe(root: string): DriverName {
  const dir = path.join(root, 'tmp', `driver-probe-${process.pid}`);
  const dirs = 'lowerdir=l,upperdir=u,workdir=w';
  if (mounts('mount', ['-t', 'overlay', 'overlay', '-o', `${dirs},userxattr`], dir)) return 'overlay';
  if (mounts('fuse-overlayfs', ['-o', dirs], dir)) return 'fuse-overlayfs';
  return 'vfs';
}

export function chooseDriver(root: string): DriverName {
  if (isRealRoot()) return 'overlay';
  const kept = path.join(root, KEPT);
  try {
    const d = fs.readFileSync(kept, 'utf8').trim();
    if (d === 'overlay' || d === 'fuse-overlayfs' || d === 'vfs') return d;
  } catch {
    // not chosen yet
  }
  if (!inUserNamespace()) return 'overlay';
  const d = probe(root);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  fs.writeFileSync(kept, `${d}\n`);
  return d;
}
