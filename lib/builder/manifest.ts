/**
 * `hod manifest create|add|remove|inspect|rm`: manifest lists (multi-platform images) kept in the store
 * (lib/store/lists.ts). An image added from another transport is pulled into the store first, so that
 * `manifest push --all` finds everything it sends.
 */
import { HodError, UsageError } from '../errors.js';
import { MediaType, type Descriptor, type ImageConfig, type Index, type Platform } from '../image/types.js';
import { parseTransportName } from '../pull/transport-name.js';
import type { PullOptions } from '../pull/pull.js';
import { findList, getList, listName, removeList, saveList, type StoredList } from '../store/lists.js';
import type { Store } from '../store/store.js';

export interface AddOptions {
  /** Platform fields that replace the image config's. */
  platform?: Partial<Platform>;
  annotations?: Record<string, string>;
  pullOptions?: PullOptions;
}

function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/** A new empty list (or, with `amend`, the one the name already holds), with `images` added. */
export async function createList(store: Store, name: string, images: string[], opts: { amend?: boolean } & AddOptions = {}): Promise<StoredList> {
  const full = listName(name);
  const existing = findList(store, full);
  if (existing && !opts.amend) throw new HodError('EEXIST', `manifest list "${full}" already exists: use --amend to add to it`);
  if (!existing && store.images.find(full)) throw new HodError('EEXIST', `"${full}" names an image: choose another name for the list`);
  let list = existing ?? saveList(store, full, emptyIndex());
  for (const image of images) list = await addToList(store, full, image, opts);
  return list;
}

/** The descriptor a list gets for a stored image: its manifest, with its config's platform unless overridden. */
function describe(store: Store, image: string, opts: AddOptions): Descriptor {
  const img = store.images.get(image);
  const config = store.images.config(img);
  const platform: Platform = { architecture: config.architecture, os: config.os };
  if (config.variant) platform.variant = config.variant;
  const osVersion = (config as ImageConfig & { 'os.version'?: string })['os.version'];
  if (osVersion) platform['os.version'] = osVersion;
  for (const [k, v] of Object.entries(opts.platform ?? {})) if (v !== undefined && v !== '') (platform as unknown as Record<string, unknown>)[k] = v;
  const desc: Descriptor = { ...img.manifestDescriptor, platform };
  if (opts.annotations && Object.keys(opts.annotations).length) desc.annotations = { ...opts.annotations };
  return desc;
}

/** Add a stored image, or one from any transport (pulled first), replacing an entry with the same digest. */
export async function addToList(store: Store, name: string, image: string, opts: AddOptions = {}): Promise<StoredList> {
  const list = getList(store, name);
  let ref = image;
  if (parseTransportName(image)) {
    const { pull } = await import('../pull/pull.js');
    ref = (await pull(store, image, { ...opts.pullOptions, platform: { ...opts.pullOptions?.platform, ...opts.platform } })).id;
  }
  const desc = describe(store, ref, opts);
  const index: Index = { ...list.index, manifests: [...list.index.manifests.filter((d) => d.digest !== desc.digest), desc] };
  return saveList(store, list.name, index);
}

export function removeFromList(store: Store, name: string, digest: string): StoredList {
  const list = getList(store, name);
  const want = digest.startsWith('sha256:') ? digest : `sha256:${digest}`;
  const manifests = list.index.manifests.filter((d) => d.digest !== want);
  if (manifests.length === list.index.manifests.length) throw new HodError('ENOTFOUND', `manifest list "${list.name}" has no entry ${want}`);
  return saveList(store, list.name, { ...list.index, manifests });
}

/** Change the platform or annotations of one entry. */
export function annotateList(store: Store, name: string, digest: string, opts: AddOptions): StoredList {
  const list = getList(store, name);
  const want = digest.startsWith('sha256:') ? digest : `sha256:${digest}`;
  const i = list.index.manifests.findIndex((d) => d.digest === want);
  if (i < 0) throw new HodError('ENOTFOUND', `manifest list "${list.name}" has no entry ${want}`);
  const d = list.index.manifests[i];
  const platform = { ...d.platform, ...Object.fromEntries(Object.entries(opts.platform ?? {}).filter(([, v]) => v !== undefined && v !== '')) } as Platform;
  const manifests = [...list.index.manifests];
  manifests[i] = { ...d, platform, ...(opts.annotations ? { annotations: { ...d.annotations, ...opts.annotations } } : {}) };
  return saveList(store, list.name, { ...list.index, manifests });
}

export function removeLists(store: Store, names: string[]): string[] {
  if (names.length === 0) throw new UsageError('give the manifest lists to remove');
  return names.map((n) => removeList(store, n).id);
}
