import fs from 'node:fs';
import { removeStoredSignatures, signedManifests } from '../store/signatures.js';
import { ConflictError } from '../errors.js';
import { formatReference, normalizeLocal } from '../image/reference.js';
import type { ImageConfig, Manifest } from '../image/types.js';
import { isIndexType, type StoredImage } from '../store/images.js';
import { hexOf } from '../store/paths.js';
import { discardTree } from '../store/discard.js';
import type { Store } from '../store/store.js';
import { remove as removeContainer } from './containers.js';
import { byCodeUnits, listRecords } from './records.js';

export interface ImageSummary {
  id: string;
  names: string[];
  digest: string;
  created: string;
  size: number;
  manifest: Manifest;
  config: ImageConfig;
}

/** The images in the store, newest first, with what `images` and `inspect` show; `all` adds unnamed build steps. */
export function listImages(store: Store, opts: { all?: boolean } = {}): ImageSummary[] {
  const shown = store.images.list().filter((img) => opts.all || !img.intermediate || img.names.length > 0);
  return shown.map((img) => summarize(store, img)).sort((a, b) => byCodeUnits(b.created, a.created));
}

export function summarize(store: Store, img: StoredImage): ImageSummary {
  const manifest = store.images.manifest(img);
  const config = store.blobs.readJson<ImageConfig>(manifest.config.digest);
  const size = manifest.layers.reduce((n, l) => n + l.size, manifest.config.size);
  return { id: img.id, names: img.names, digest: img.manifestDigest, created: config.created ?? '', size, manifest, config };
}

/** Give an image another name. */
export function tag(store: Store, image: string, names: string[]): StoredImage {
  const img = store.images.get(image);
  store.images.add(img.manifestDescriptor, names.map((n) => formatReference(normalizeLocal(n))));
  return img;
}

export interface RmiResult {
  untagged: string[];
  removed: string[];
}

/**
 * Remove an image, or only the given name when the image has others (as buildah does). An image that a
 * working container was made from is refused unless `force`, which removes those containers too.
 */
export async function rmi(store: Store, image: string, opts: { force?: boolean } = {}): Promise<RmiResult> {
  const img = store.images.get(image);
  const name = img.names.find((n) => n === image || n === safeLocal(image));
  if (name && img.names.length > 1) {
    store.images.untag(name);
    return { untagged: [name], removed: [] };
  }
  const users = listRecords(store).filter((r) => r.fromImageId === img.id);
  if (users.length && !opts.force) {
    throw new ConflictError(`image ${img.id.slice(0, 12)} is in use by container(s) ${users.map((u) => u.name).join(', ')}: remove them first, or use rmi -f`);
  }
  for (const u of users) await removeContainer(store, u.id);
  store.images.remove(img.manifestDigest);
  collectGarbage(store);
  return { untagged: img.names, removed: [img.id] };
}

function safeLocal(s: string): string | undefined {
  try {
    return formatReference(normalizeLocal(s));
  } catch {
    return undefined;
  }
}

/**
 * Delete blobs and unpacked layers that no image and no container references any more. Runs under the index
 * lock, so a commit cannot add a reference while it looks.
 */
export function collectGarbage(store: Store): { blobs: number; layers: number } {
  return store.images.update(() => {
    const refs = store.images.referencedBlobs();
    for (const d of store.blobs.pinned()) refs.add(d);
    const diffIds = new Set<string>();
    for (const rec of listRecords(store)) {
      rec.baseLayerDigests.forEach((l) => refs.add(l.digest));
      rec.layers.forEach((d) => diffIds.add(hexOf(d)));
    }
    for (const desc of store.images.read().manifests) {
      if (isIndexType(desc.mediaType)) continue; // a manifest list has no layers of its own
      const m = store.blobs.readJson<Manifest>(desc.digest);
      store.blobs.readJson<ImageConfig>(m.config.digest).rootfs.diff_ids.forEach((d) => diffIds.add(hexOf(d)));
    }
    let blobs = 0;
    let layers = 0;
    for (const hex of fs.readdirSync(store.paths.blobs)) {
      if (!refs.has(`sha256:${hex}`)) {
        store.blobs.remove(`sha256:${hex}`);
        blobs++;
      }
    }
    for (const hex of fs.readdirSync(store.paths.layers)) {
      if (!diffIds.has(hex)) {
        discardTree(store.paths, store.paths.layer(hex));
        layers++;
      }
    }
    for (const d of signedManifests(store.paths)) if (!refs.has(d)) removeStoredSignatures(store.paths, d);
    return { blobs, layers };
  });
}
