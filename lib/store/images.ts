import fs from 'node:fs';
import { ConflictError, HodError, NotFoundError } from '../errors.js';
import type { Descriptor, ImageConfig, Index, Manifest } from '../image/types.js';
import { MediaType } from '../image/types.js';
import { normalizeDocker, normalizeLocal, formatReference, looksLikeImageId } from '../image/reference.js';
import { readJsonIfExists, writeFileAtomic } from './atomic.js';
import type { BlobStore } from './blobs.js';
import { hexOf, type StorePaths } from './paths.js';
import { withLock } from './lock.js';

/** The annotation the OCI image layout uses to name a manifest in index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** On an index entry: an image `bud` committed for a step, listed by `images` only with --all while unnamed. */
export const INTERMEDIATE = 'dev.hod.intermediate';

/** One image of the store: a manifest reachable from index.json, with every name that points at it. */
export interface StoredImage {
  /** The config digest's hex, as buildah and docker show image ids. */
  id: string;
  manifestDigest: string;
  manifestDescriptor: Descriptor;
  names: string[];
  /** A build step's image (INTERMEDIATE). */
  intermediate?: boolean;
}

/**
 * The image half of the store: index.json of the OCI layout. Every change is read-modify-write under the
 * index lock, landing by rename, so concurrent hod processes never lose each other's entries.
 */
export class ImageIndex {
  constructor(private readonly paths: StorePaths, private readonly blobs: BlobStore) {}

  read(): Index {
    return readJsonIfExists<Index>(this.paths.index) ?? { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  }

  private write(index: Index): void {
    writeFileAtomic(this.paths.index, JSON.stringify(index), this.paths.tmp);
  }

  /** Change index.json under the lock. */
  update<T>(fn: (index: Index) => T): T {
    return withLock(this.paths.locks, 'index', () => {
      const index = this.read();
      const result = fn(index);
      this.write(index);
      return result;
    });
  }

  list(): StoredImage[] {
    const byDigest = new Map<string, StoredImage>();
    for (const desc of this.read().manifests) {
      if (isIndexType(desc.mediaType)) continue; // a manifest list (lib/store/lists.ts), not an image
      let img = byDigest.get(desc.digest);
      if (!img) {
        const manifest = this.blobs.readJson<Manifest>(desc.digest);
        img = { id: hexOf(manifest.config.digest), manifestDigest: desc.digest, manifestDescriptor: stripName(desc), names: [], intermediate: desc.annotations?.[INTERMEDIATE] === 'true' };
        byDigest.set(desc.digest, img);
      }
      const name = desc.annotations?.[REF_NAME];
      if (name && !img.names.includes(name)) img.names.push(name);
    }
    return [...byDigest.values()];
  }

  /**
   * Find an image by name (short names are looked up as localhost/ and docker.io/ names, a missing tag is
   * :latest) or by id or any unique prefix of it.
   */
  find(nameOrId: string): StoredImage | undefined {
    const images = this.list();
    const candidates = new Set<string>([nameOrId]);
    for (const normalize of [normalizeLocal, normalizeDocker]) {
      try {
        candidates.add(formatReference(normalize(nameOrId)));
      } catch {
        // not a valid name: may still be an id
      }
    }
    for (const img of images) if (img.names.some((n) => candidates.has(n))) return img;
    if (looksLikeImageId(nameOrId)) {
      const prefix = hexOf(nameOrId);
      const hits = images.filter((i) => i.id.startsWith(prefix) || hexOf(i.manifestDigest) === prefix);
      if (hits.length > 1) throw new HodError('EAMBIGUOUS', `image id prefix "${nameOrId}" matches ${hits.length} images`);
      if (hits.length === 1) return hits[0];
    }
    // a bare name that only some other registry's image carries, e.g. "alpine" for quay.io/x/alpine:latest
    if (!nameOrId.includes('/')) {
      const withTag = nameOrId.includes(':') ? nameOrId : `${nameOrId}:latest`;
      const hits = images.filter((i) => i.names.some((n) => n.endsWith(`/${withTag}`)));
      if (hits.length === 1) return hits[0];
    }
    return undefined;
  }

  get(nameOrId: string): StoredImage {
    const img = this.find(nameOrId);
    if (!img) throw new NotFoundError('image', nameOrId);
    return img;
  }

  manifest(img: StoredImage): Manifest {
    return this.blobs.readJson<Manifest>(img.manifestDigest);
  }

  config(img: StoredImage): ImageConfig {
    return this.blobs.readJson<ImageConfig>(this.manifest(img).config.digest);
  }

  /**
   * Record a manifest under the given full names. A name moves from whatever image had it; an image left with
   * no name stays in the index unnamed (buildah's `<none>`), so nothing committed is lost.
   */
  add(desc: Descriptor, names: string[]): void {
    this.update((index) => {
      const bare = stripName(desc);
      for (const name of names) {
        const i = index.manifests.findIndex((d) => d.annotations?.[REF_NAME] === name);
        if (i >= 0) {
          const old = index.manifests[i];
          index.manifests.splice(i, 1);
          // an image left without names stays (unnamed); a list without a name is gone
          if (old.digest !== desc.digest && !isIndexType(old.mediaType) && !index.manifests.some((d) => d.digest === old.digest)) {
            index.manifests.push(stripName(old));
          }
        }
        index.manifests.push({ ...bare, annotations: { ...(bare.annotations ?? {}), [REF_NAME]: name } });
      }
      const named = index.manifests.some((d) => d.digest === desc.digest);
      if (!named) index.manifests.push(bare);
      // an unnamed entry is redundant once the image has a name
      index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] || !index.manifests.some((o) => o !== d && o.digest === d.digest));
    });
  }

  /** Remove one name; the image stays (unnamed) when it was its last. */
  untag(name: string): void {
    this.update((index) => {
      const i = index.manifests.findIndex((d) => d.annotations?.[REF_NAME] === name);
      if (i < 0) throw new NotFoundError('image name', name);
      const [old] = index.manifests.splice(i, 1);
      if (!index.manifests.some((d) => d.digest === old.digest)) index.manifests.push(stripName(old));
    });
  }

  /** Drop every entry of a manifest from the index. Blob and layer collection is the caller's. */
  remove(manifestDigest: string): void {
    this.update((index) => {
      const before = index.manifests.length;
      index.manifests = index.manifests.filter((d) => d.digest !== manifestDigest);
      if (index.manifests.length === before) throw new ConflictError(`image ${manifestDigest} is not in the index`);
    });
  }

  /** Every blob digest that some image in the index references (manifests, configs, layers). */
  referencedBlobs(): Set<string> {
    const refs = new Set<string>();
    for (const desc of this.read().manifests) {
      refs.add(desc.digest);
      // a list's images are entries of their own while they are in the store
      if (isIndexType(desc.mediaType) || !fs.existsSync(this.blobs.path(desc.digest))) continue;
      const m = this.blobs.readJson<Manifest>(desc.digest);
      refs.add(m.config.digest);
      for (const l of m.layers) refs.add(l.digest);
    }
    return refs;
  }
}

/** Whether an index.json entry is a manifest list (an OCI index or a Docker manifest list). */
export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

export function stripName(desc: Descriptor): Descriptor {
  const { annotations, ...rest } = desc;
  if (!annotations) return { ...rest };
  const { [REF_NAME]: _name, ...others } = annotations;
  return Object.keys(others).length ? { ...rest, annotations: others } : { ...rest };
}
