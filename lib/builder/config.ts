import type { Store } from '../store/store.js';
import { applyConfig, type ConfigOptions } from './config-edit.js';
import { loadRecord, saveRecord } from './records.js';
import type { BuilderRecord } from './types.js';

/** Change a working container's image configuration (what `commit` will write). */
export function config(store: Store, nameOrId: string, opts: ConfigOptions): BuilderRecord {
  const rec = applyConfig(loadRecord(store, nameOrId), opts);
  saveRecord(store, rec);
  return rec;
}
