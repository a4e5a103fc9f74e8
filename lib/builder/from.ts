import fs from 'node:fs';
import { hostPlatform, type ImageConfig } from '../image/types.js';
import { driverFor } from '../mount/driver.js';
import { ensureLayerDir } from '../store/layers.js';
import { isOverlayLike, type Store } from '../store/store.js';
import { HodError, NotFoundError } from '../errors.js';
import type { PullOptions } from '../pull/pull.js';
import type { StoredImage } from '../store/images.js';
import { checkName, createRecord, newContainerId } from './records.js';
import type { BuilderRecord } from './types.js';

export type PullPolicy = 'missing' | 'always' | 'never' | 'newer';

export interface FromOptions {
  name?: string;
  format?: 'oci' | 'docker';
  /** When to pull the image first (buildah's --pull; default missing). */
  pull?: PullPolicy;
  pullOptions?: PullOptions;
}

/** The stored image, pulled first when the policy says so. */
export async function baseImage(store: Store, image: string, opts: FromOptions): Promise<StoredImage> {
  const policy = opts.pull ?? 'missing';
  const local = store.images.find(image);
  if (local && (policy === 'missing' || policy === 'never')) return local;
  if (policy === 'never') throw new NotFoundError('image', image);
  const { pull } = await import('../pull/pull.js');
  try {
    return store.images.get((await pull(store, image, opts.pullOptions)).id);
  } catch (err) {
    // "newer" keeps using what is here when the registry cannot be asked
    if (policy === 'newer' && local) return local;
    if (local || !(err instanceof Error)) throw err;
    throw new HodError((err as HodError).code ?? 'EPULL', `image "${image}" not found in the store, and pulling it failed: ${err.message}`, { cause: err });
  }
}

/**
 * Make a working container from `image` ("scratch" for an empty root filesystem). The image's layers are
 * unpacked once into the store and shared; the container gets only its own writable part.
 */
export async function from(store: Store, image: string, opts: FromOptions = {}): Promise<BuilderRecord> {
  const base: Omit<BuilderRecord, 'name'> & { name?: string } = {
    id: newContainerId(),
    name: opts.name,
    fromImage: '',
    fromImageId: '',
    created: new Date().toISOString(),
    layers: [],
    baseLayerDigests: [],
    driver: store.driver,
    image: { ...hostPlatform(), config: {}, history: [], annotations: {} },
    format: opts.format,
  };
  if (image !== 'scratch') {
    const img = await baseImage(store, image, opts);
    const manifest = store.images.manifest(img);
    const config = store.blobs.readJson<ImageConfig>(manifest.config.digest);
    base.fromImage = img.names[0] ?? img.id;
    base.fromImageId = img.id;
    base.layers = [...config.rootfs.diff_ids];
    base.baseLayerDigests = manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
    base.image = {
      architecture: config.architecture,
      os: config.os,
      variant: config.variant,
      author: config.author,
      config: config.config ?? {},
      history: config.history ?? [],
      annotations: {},
    };
    if (isOverlayLike(store.driver)) {
      for (let i = 0; i < base.layers.length; i++) await ensureLayerDir(store, base.layers[i], base.baseLayerDigests[i].digest);
    }
  }
  if (opts.name) checkName(opts.name);
  const driver = await driverFor(store.driver);
  const dir = store.paths.container(base.id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    await driver.create(store, { ...base, name: '' }, dir);
    return createRecord(store, base, image);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
