/** hod as a library: the same functions the CLI verbs call. */
export { Store, type StoreOptions } from './store/store.js';
export { from, type FromOptions } from './builder/from.js';
export { mount, unmount, listMounted, remove, removeAll, list as containers, load as loadContainer, rename } from './builder/containers.js';
export { config } from './builder/config.js';
export type { ConfigOptions } from './builder/config-edit.js';
export { add, type AddOptions } from './builder/add.js';
export { listImages, tag, rmi, collectGarbage } from './builder/images.js';
export { inspect } from './builder/inspect.js';
export { commit, type CommitOptions, type CommitResult } from './commit/commit.js';
export * from './errors.js';
export type { BuilderRecord } from './builder/types.js';
export * from './image/types.js';
