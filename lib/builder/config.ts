import type { ContainerConfig } from '../image/types.js';
import { withLock } from '../store/lock.js';
import type { Store } from '../store/store.js';
import { applyConfig, type ConfigContext, type ConfigOptions } from './config-edit.js';
import { loadRecord, saveRecord } from './records.js';
import type { BuilderRecord } from './types.js';

/**
 * Change a working container's image configuration (what `commit` will write). Read, edit and write happen
 * under the record lock, so two `hod config` runs on one container both land.
 */
export function config(store: Store, nameOrId: string, opts: ConfigOptions, ctx: ConfigContext = {}): BuilderRecord {
  return withLock(store.paths.locks, 'containers', () => {
    const rec = applyConfig(loadRecord(store, nameOrId), opts, ctx);
    saveRecord(store, rec);
    return rec;
  });
}

/** Set run-time config fields as they are, unchecked (`bud`'s CMD and ENTRYPOINT); an undefined value removes the field. */
export function setConfigFields(store: Store, nameOrId: string, fields: Partial<ContainerConfig>): BuilderRecord {
  return withLock(store.paths.locks, 'containers', () => {
    const rec = loadRecord(store, nameOrId);
    for (const [k, v] of Object.entries(fields) as [keyof ContainerConfig, unknown][]) {
      if (v === undefined) delete rec.image.config[k];
      else (rec.image.config as Record<string, unknown>)[k] = v;
    }
    saveRecord(store, rec);
    return rec;
  });
}
