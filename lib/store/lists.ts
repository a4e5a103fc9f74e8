/**
 * Manifest lists in the store: an OCI image index blob named in index.json like an image, with the
 * index media type, so skopeo and umoci see it as the list it is (`skopeo inspect --raw oci:ROOT:NAME`).
 * A list names its images by manifest digest; they are images of the store while they are there, and a
 * list may outlive them (buildah lets `rmi` remove an image a list names).
 */
import { ConflictError, NotFoundError } from '../errors.js';
import { formatReference, looksLikeImageId, normalizeLocal, normalizeDocker } from '../image/reference.js';
import { MediaType, type Descriptor, type Index } from '../image/types.js';
import { hexOf } from './paths.js';
import { isIndexType, REF_NAME } from './images.js';
import type { Store } from './store.js';

export interface StoredList {
  /** The index digest's hex. */
  id: string;
  digest: string;
  /** The name it was found by (lists with the same content share a digest, not a name), or its first. */
  name: string;
  names: string[];
  index: Index;
}

/** The full name a list gets: a bare name is a localhost/ one, as for images. */
export function listName(name: string): string {
  return formatReference(normalizeLocal(name));
}

export function findList(store: Store, nameOrId: string): StoredList | undefined {
  const candidates = new Set([nameOrId]);
  for (const normalize of [normalizeLocal, normalizeDocker]) {
    try {
      candidates.add(formatReference(normalize(nameOrId)));
    } catch {
      // not a name: maybe an id
    }
  }
  const entries = store.images.read().manifests.filter((d) => isIndexType(d.mediaType));
  const hit = entries.find((d) => candidates.has(d.annotations?.[REF_NAME] ?? '')) ??
    (looksLikeImageId(nameOrId) ? entries.find((d) => hexOf(d.digest).startsWith(hexOf(nameOrId))) : undefined);
  if (!hit) return undefined;
  const names = entries.filter((d) => d.digest === hit.digest).map((d) => d.annotations?.[REF_NAME]).filter((n): n is string => !!n);
  const name = hit.annotations?.[REF_NAME] ?? names[0] ?? '';
  return { id: hexOf(hit.digest), digest: hit.digest, name, names, index: store.blobs.readJson<Index>(hit.digest) };
}

export function getList(store: Store, nameOrId: string): StoredList {
  const l = findList(store, nameOrId);
  if (!l) throw new NotFoundError('manifest list', nameOrId);
  return l;
}

/** Store `index` under `name` (replacing what the name held); returns the new list. */
export function saveList(store: Store, name: string, index: Index): StoredList {
  const { digest, size } = store.blobs.put(JSON.stringify(index));
  const desc: Descriptor = { mediaType: index.mediaType ?? MediaType.ociIndex, digest, size };
  store.images.add(desc, [name]);
  return { id: hexOf(digest), digest, name, names: [name], index };
}

/**
 * Remove a list: the name it was found by (or, found by id, every name it has); the images it names stay.
 * The blob goes with the next collection unless another list has the same content.
 */
export function removeList(store: Store, nameOrId: string): StoredList {
  const l = getList(store, nameOrId);
  const byName = l.names.includes(l.name) && l.id !== nameOrId.replace(/^sha256:/, '');
  store.images.update((index) => {
    const before = index.manifests.length;
    index.manifests = index.manifests.filter((d) => d.digest !== l.digest || (byName && d.annotations?.[REF_NAME] !== l.name));
    if (index.manifests.length === before) throw new ConflictError(`manifest list ${nameOrId} changed while it was being removed`);
  });
  return l;
}
