import fs from 'node:fs';
import { driverFor } from '../mount/driver.js';
import { withLock } from '../store/lock.js';
import type { Store } from '../store/store.js';
import { listRecords, loadRecord, recordPath, saveRecord } from './records.js';
import type { BuilderRecord } from './types.js';

/** Mount a container's root filesystem and return its path; it stays mounted after hod exits. */
export async function mount(store: Store, nameOrId: string): Promise<{ container: BuilderRecord; path: string }> {
  const rec = loadRecord(store, nameOrId);
  const driver = await driverFor(rec.driver);
  const path = driver.mount(store, rec);
  if (rec.mountPoint !== path) {
    rec.mountPoint = path;
    saveRecord(store, rec);
  }
  return { container: rec, path };
}

export async function unmount(store: Store, nameOrId: string): Promise<BuilderRecord> {
  const rec = loadRecord(store, nameOrId);
  const driver = await driverFor(rec.driver);
  driver.unmount(store, rec);
  if (rec.mountPoint !== undefined) {
    delete rec.mountPoint;
    saveRecord(store, rec);
  }
  return rec;
}

/** Containers whose root filesystem is mounted now (the kernel's word, not the record's). */
export async function listMounted(store: Store): Promise<{ container: BuilderRecord; path: string }[]> {
  const out: { container: BuilderRecord; path: string }[] = [];
  for (const rec of listRecords(store)) {
    if (rec.mountPoint === undefined) continue;
    const driver = await driverFor(rec.driver);
    if (driver.isMounted(store, rec)) out.push({ container: rec, path: rec.mountPoint });
  }
  return out;
}

/** Unmount and delete a container: its record first, so a crash halfway leaves no listed half-container. */
export async function remove(store: Store, nameOrId: string): Promise<BuilderRecord> {
  const rec = loadRecord(store, nameOrId);
  const driver = await driverFor(rec.driver);
  driver.unmount(store, rec);
  withLock(store.paths.locks, 'containers', () => fs.rmSync(recordPath(store, rec.id), { force: true }));
  driver.destroy(store, rec);
  return rec;
}

export async function removeAll(store: Store): Promise<BuilderRecord[]> {
  const removed: BuilderRecord[] = [];
  for (const rec of listRecords(store)) removed.push(await remove(store, rec.id));
  return removed;
}

export { listRecords as list, loadRecord as load, renameRecord as rename } from './records.js';
