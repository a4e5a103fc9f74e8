import type { BuilderRecord } from '../builder/types.js';
import type { DriverName, Store } from '../store/store.js';

/** A root filesystem driver: how a builder's rootfs is laid out, mounted, and where its changes live. */
export interface MountDriver {
  readonly name: DriverName;
  /** Lay out a new builder's directory (called before its record exists). */
  create(store: Store, rec: BuilderRecord, dir: string): Promise<void>;
  /** Mount (if needed) and return the path of the root filesystem. Idempotent. */
  mount(store: Store, rec: BuilderRecord): string;
  unmount(store: Store, rec: BuilderRecord): void;
  isMounted(store: Store, rec: BuilderRecord): boolean;
  /** Unmount and delete everything of the builder's filesystem. */
  destroy(store: Store, rec: BuilderRecord): void;
}

export async function driverFor(name: DriverName): Promise<MountDriver> {
  if (name === 'vfs') return (await import('./vfs.js')).vfsDriver;
  const { overlayDriver, fuseOverlayDriver } = await import('./overlay.js');
  return name === 'fuse-overlayfs' ? fuseOverlayDriver : overlayDriver;
}
