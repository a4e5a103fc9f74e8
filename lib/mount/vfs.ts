import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../store/store.js';
import type { BuilderRecord } from '../builder/types.js';
import { applyLayerBlob } from '../store/layers.js';
import { discardTree } from '../store/discard.js';
import type { MountDriver } from './driver.js';
import { saveSnapshot, snapshotFile, takeSnapshot } from './vfs-snapshot.js';

export function vfsRootfs(store: Store, rec: BuilderRecord): string {
  return path.join(store.paths.container(rec.id), 'rootfs');
}

/**
 * vfs: a plain directory holding the whole root filesystem, for hosts where overlay cannot be mounted.
 * Changes are found at commit time against a snapshot taken when the rootfs was made.
 */
export const vfsDriver: MountDriver = {
  name: 'vfs',

  async create(store, rec, dir) {
    const rootfs = path.join(dir, 'rootfs');
    fs.mkdirSync(rootfs, { mode: 0o755 });
    for (let i = 0; i < rec.layers.length; i++) {
      await applyLayerBlob(store, rec.baseLayerDigests[i].digest, rec.layers[i], rootfs, { whiteouts: 'apply' });
    }
    saveSnapshot(snapshotFile(dir), takeSnapshot(rootfs));
  },

  mount(store, rec) {
    return vfsRootfs(store, rec);
  },

  unmount() {},

  isMounted(_store, rec) {
    return rec.mountPoint !== undefined;
  },

  destroy(store, rec) {
    discardTree(store.paths, store.paths.container(rec.id));
  },
};
