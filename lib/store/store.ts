import fs from 'node:fs';
import path from 'node:path';
import { BlobStore } from './blobs.js';
import { ImageIndex } from './images.js';
import { StorePaths, defaultRoot } from './paths.js';
import { chooseDriver } from './choose-driver.js';
import { pidAlive } from './lock.js';
import { isTrash } from './discard.js';

export type DriverName = 'overlay' | 'fuse-overlayfs' | 'vfs';
export const DRIVERS: readonly DriverName[] = ['overlay', 'fuse-overlayfs', 'vfs'];

/** overlay and fuse-overlayfs lay a container out alike: layers/ as lower dirs, its own upper/. */
export function isOverlayLike(d: DriverName): boolean {
  return d !== 'vfs';
}

export interface StoreOptions {
  root?: string;
  storageDriver?: DriverName;
}

const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** The content store: an OCI image layout plus unpacked layers, builder records and a staging area. */
export class Store {
  readonly paths: StorePaths;
  readonly blobs: BlobStore;
  readonly images: ImageIndex;
  readonly driver: DriverName;

  private constructor(root: string, driver: DriverName) {
    this.paths = new StorePaths(root);
    this.blobs = new BlobStore(this.paths);
    this.images = new ImageIndex(this.paths, this.blobs);
    this.driver = driver;
  }

  /** Open (creating on first use) the store at `root`, and clear what dead hod processes left in tmp/. */
  static open(opts: StoreOptions = {}): Store {
    const root = path.resolve(opts.root ?? defaultRoot());
    const driver = opts.storageDriver ?? driverFromEnv() ?? chooseDriver(root);
    const store = new Store(root, driver);
    store.init();
    return store;
  }

  private init(): void {
    const p = this.paths;
    if (!fs.existsSync(p.ociLayout)) {
      for (const d of [p.root, p.blobs, p.layers, p.containers, p.tmp, p.locks, p.emptyLayer]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      fs.chmodSync(p.emptyLayer, 0o755);
      if (!fs.existsSync(p.index)) fs.writeFileSync(p.index, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
      fs.writeFileSync(p.ociLayout, OCI_LAYOUT);
    }
    this.cleanTmp();
  }

  /** Staged files carry their writer's pid; those whose writer is gone are half-done work from a crash. */
  cleanTmp(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.paths.tmp);
    } catch {
      return;
    }
    for (const name of names) {
      if (isTrash(this.paths.tmp, name)) continue;
      const m = /-(\d+)-[0-9a-f]{12}$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid !== process.pid && !pidAlive(pid)) fs.rmSync(path.join(this.paths.tmp, name), { recursive: true, force: true });
    }
  }
}

function driverFromEnv(): DriverName | undefined {
  const d = process.env.STORAGE_DRIVER ?? process.env.HOD_STORAGE_DRIVER;
  return DRIVERS.includes(d as DriverName) ? (d as DriverName) : undefined;
}
