import fs from 'node:fs';
import path from 'node:path';
import { SystemError } from '../errors.js';
import type { BuilderRecord } from '../builder/types.js';
import type { Store } from '../store/store.js';
import { hexOf } from '../store/paths.js';
import { discardTree } from '../store/discard.js';
import type { MountDriver } from './driver.js';
import { isMountPoint } from './mountinfo.js';
import { inUserNamespace } from '../store/userns.js';

/** node:child_process on first use: `hod mount` listing mounts should not pay its 2 ms load. */
function execFileSync(...args: Parameters<typeof import('node:child_process').execFileSync>): void {
  process.getBuiltinModule('node:child_process').execFileSync(...args);
}

export function overlayDirs(store: Store, rec: BuilderRecord): { upper: string; work: string; merged: string } {
  const dir = store.paths.container(rec.id);
  return { upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
}

/**
 * Kernel overlayfs: the image's unpacked layers are the lower dirs (shared by all builders), `upper/` holds
 * this builder's changes. redirect_dir and metacopy stay off so `upper/` alone is always a complete diff.
 */
export const overlayDriver: MountDriver = {
  name: 'overlay',

  async create(_store, rec, dir) {
    for (const d of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(dir, d), { mode: d === 'upper' ? 0o755 : 0o700 });
    void rec;
  },

  mount(store, rec) {
    const { upper, work, merged } = overlayDirs(store, rec);
    if (isMountPoint(merged)) return merged;
    // Lower dirs are named relative to layers/ (mount runs there) to stay under the one-page mount data limit.
    // a layer twice in one image (two RUN steps that changed nothing): overlay refuses a lower dir twice, and
    // the lower copy adds nothing the upper one does not give again above everything between them
    const top = [...new Set([...rec.layers].reverse().map((d) => hexOf(d)))];
    const lowers = top.length ? top : [path.relative(store.paths.layers, store.paths.emptyLayer)];
    const dirs = `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`;
    // in a user namespace the kernel refuses redirect_dir (it needs trusted.* attributes) and wants userxattr
    const own = inUserNamespace() ? 'userxattr' : 'redirect_dir=off';
    const [cmd, args] = this.name === 'fuse-overlayfs'
      ? ['fuse-overlayfs', ['-o', dirs, merged]]
      : ['mount', ['-t', 'overlay', 'overlay', '-o', `${dirs},${own},metacopy=off,index=off`, merged]];
    try {
      execFileSync(cmd, args, { cwd: store.paths.layers, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
      throw new SystemError(`cannot mount ${this.name} for container ${rec.name}: ${msg} (try --storage-driver vfs)`, { cause: err });
    }
    return merged;
  },

  unmount(store, rec) {
    const { merged } = overlayDirs(store, rec);
    if (!isMountPoint(merged)) return;
    try {
      execFileSync('umount', [merged], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
      throw new SystemError(`cannot unmount ${merged}: ${msg}`, { cause: err });
    }
  },

  isMounted(store, rec) {
    return isMountPoint(overlayDirs(store, rec).merged);
  },

  destroy(store, rec) {
    const { merged } = overlayDirs(store, rec);
    if (isMountPoint(merged)) {
      // a lazy detach, so a shell still sitting in the mount cannot keep the container alive
      try {
        execFileSync('umount', ['-l', merged], { stdio: 'ignore' });
      } catch {
        // reported by the rm below if it matters
      }
    }
    discardTree(store.paths, store.paths.container(rec.id));
  },
};

/** The same layout, mounted by fuse-overlayfs in user space: for user namespaces where kernel overlay is refused. */
export const fuseOverlayDriver: MountDriver = { ...overlayDriver, name: 'fuse-overlayfs' };

/**
 * Unmount without blocking, for commit: it runs beside the commit's first reads instead of after the layer
 * is written. 'busy' when a process holds the mount (it then stays mounted).
 */
export function unmountInBackground(store: Store, rec: BuilderRecord): Promise<'unmounted' | 'busy' | 'not-mounted'> {
  const { merged } = overlayDirs(store, rec);
  if (!isMountPoint(merged)) return Promise.resolve('not-mounted');
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => execFile('umount', [merged], (err) => resolve(err ? 'busy' : 'unmounted')));
}

