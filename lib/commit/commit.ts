import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { BuilderRecord } from '../builder/types.js';
import { loadRecord, saveRecord } from '../builder/records.js';
import { formatReference, normalizeLocal } from '../image/reference.js';
import { MediaType, type Descriptor, type ImageConfig, type ImageFormat, type Manifest } from '../image/types.js';
import { driverFor, type MountDriver } from '../mount/driver.js';
import { overlayDirs, unmountInBackground } from '../mount/overlay.js';
import { saveSnapshot, snapshotFile, takeSnapshot } from '../mount/vfs-snapshot.js';
import { vfsRootfs } from '../mount/vfs.js';
import { tmpName } from '../store/atomic.js';
import { adoptLayerDir } from '../store/layers.js';
import { sha256 } from '../store/blobs.js';
import { isOverlayLike, type Store } from '../store/store.js';
import { INTERMEDIATE } from '../store/images.js';
import { getXattrsTree } from '../store/xattr.js';
import { addStoredSignatures } from '../store/signatures.js';
import type { Signer, SignOptions } from '../signature/sign.js';
import { overlayChanges, vfsChanges, type ChangeOptions } from './changes.js';
import { imageConfigFor, layerMediaType } from './image-config.js';
import { writeLayer } from './layer-writer.js';
import type { TarEntry } from './tar-writer.js';

type UnmountState = Awaited<ReturnType<typeof unmountInBackground>>;

export interface CommitOptions {
  /** Sign the new manifest (`--sign-by`...); the signatures stay with the image, so a push carries them. */
  sign?: SignOptions;
  /** The signatures' `optional.creator` ("hod 0.1.0"). */
  creator?: string;
  format?: ImageFormat;
  /** `--disable-compression`: store the layer as a plain tar. */
  disableCompression?: boolean;
  /** One layer holding the whole root filesystem, no base layers. */
  squash?: boolean;
  /** Remove the container after a successful commit. */
  rm?: boolean;
  /** Seconds since the epoch for every file time and the created dates (`--timestamp`). */
  timestamp?: number;
  /** SOURCE_DATE_EPOCH: file times clamped to it, created dates set to it. */
  sourceDateEpoch?: number;
  omitHistory?: boolean;
  createdBy?: string;
  historyComment?: string;
  /**
   * Write the image with the container's current config and an empty-layer history entry, leaving its
   * file changes for the next commit (`bud` does this for steps that only change settings, as buildah does).
   */
  emptyLayer?: boolean;
  /** A build step's image: `images` lists it only with --all while it has no name. */
  intermediate?: boolean;
  /** Write a layer even when nothing changed (an empty tar), as buildah and Docker do for a RUN step. */
  alwaysLayer?: boolean;
  /** For people: warnings such as fields the chosen format cannot carry. */
  warn?: (msg: string) => void;
}

export interface CommitResult {
  /** Image id: the config digest's hex. */
  id: string;
  manifestDigest: string;
  names: string[];
  /** The new layer, if the container had changes. */
  layer?: Descriptor & { diffId: string };
}

/** Pull the first entry so an empty change set is known before any blob is written. */
function peek<T>(it: Iterator<T>): { empty: boolean; all: Iterable<T> } {
  const first = it.next();
  if (first.done) return { empty: true, all: [] };
  return { empty: false, all: { *[Symbol.iterator]() { yield first.value; let r; while (!(r = it.next()).done) yield r.value; } } };
}

/**
 * Commit a working container to an image: its changes become one layer (or, with squash, the whole rootfs
 * does), then config, manifest and names land in the store. The layer stays unpacked in layers/ so the
 * next `from` of the image mounts it without extracting anything.
 */
export async function commit(store: Store, container: string, imageName: string | undefined, opts: CommitOptions = {}): Promise<CommitResult> {
  const rec = loadRecord(store, container);
  const format: ImageFormat = opts.format ?? rec.format ?? 'oci';
  const names = imageName ? [formatReference(normalizeLocal(imageName))] : [];
  const driver = await driverFor(rec.driver);
  // keys are read and unlocked before any work, so a wrong passphrase costs nothing; loaded only when asked for
  const signer = opts.sign && (await import('../signature/sign.js')).makeSigner(opts.sign, names[0], opts.creator ?? 'hod');

  // Keeping the layer unpacked moves the upper dir, which needs the overlay unmounted: start that now.
  const unmounting = !opts.squash && !opts.emptyLayer && isOverlayLike(rec.driver) ? unmountInBackground(store, rec) : undefined;
  try {
    return await commitChanges(store, rec, names, format, driver, opts, unmounting, signer);
  } catch (err) {
    if ((await unmounting) === 'unmounted') driver.mount(store, rec);
    throw err;
  }
}

async function commitChanges(store: Store, rec: BuilderRecord, names: string[], format: ImageFormat, driver: MountDriver, opts: CommitOptions, unmounting: Promise<UnmountState> | undefined, signer: Signer | undefined): Promise<CommitResult> {
  const clamp = opts.timestamp === undefined ? opts.sourceDateEpoch : undefined;
  let source: Iterator<TarEntry> = [][Symbol.iterator]();
  if (!opts.emptyLayer) {
    let root: string;
    if (opts.squash) root = driver.mount(store, rec);
    else root = isOverlayLike(rec.driver) ? overlayDirs(store, rec).upper : vfsRootfs(store, rec);
    const changeOpts: ChangeOptions = { timestamp: opts.timestamp, clamp, xattrs: await getXattrsTree(root) };
    source = (opts.squash || isOverlayLike(rec.driver)
      ? overlayChanges(root, changeOpts)
      : vfsChanges(root, snapshotFile(store.paths.container(rec.id)), changeOpts))[Symbol.iterator]();
  }
  const { empty, all } = opts.emptyLayer ? { empty: true, all: [] } : peek(source);

  let layer: CommitResult['layer'];
  let staged: string | undefined;
  if (!empty || (opts.alwaysLayer && !opts.emptyLayer)) {
    staged = tmpName(store.paths.tmp, 'layer-blob');
    const res = await writeLayer(all, { out: staged, compression: opts.disableCompression ? 'none' : 'gzip' });
    layer = { mediaType: layerMediaType(format, res.compressed), digest: res.digest, size: res.size, diffId: res.diffId };
  }

  const base = opts.squash ? [] : rec.layers.map((diffId, i) => ({ ...rec.baseLayerDigests[i], diffId }));
  const layers = layer ? [...base, layer] : base;
  const config: ImageConfig = imageConfigFor(rec, format, {
    diffIds: layers.map((l) => l.diffId),
    emptyLayer: !layer,
    squash: !!opts.squash,
    created: createdDate(opts),
    createdBy: opts.createdBy,
    historyComment: opts.historyComment,
    omitHistory: opts.omitHistory,
    warn: opts.warn,
  });
  const configJson = JSON.stringify(config);
  const configDigest = sha256(configJson);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest,
    config: { mediaType: format === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig, digest: configDigest, size: Buffer.byteLength(configJson) },
    layers: layers.map((l) => ({ mediaType: convertLayerType(l.mediaType, format), digest: l.digest, size: l.size })),
  };
  if (format === 'oci' && Object.keys(rec.image.annotations).length) manifest.annotations = { ...rec.image.annotations };
  const manifestJson = JSON.stringify(manifest);
  const manifestDesc: Descriptor = { mediaType: manifest.mediaType!, digest: sha256(manifestJson), size: Buffer.byteLength(manifestJson) };

  // signed before anything lands, so a signing failure (a wrong passphrase) leaves no image behind
  const signatures = (await signer?.(manifestDesc.digest)) ?? [];

  // blobs land before the index names them; the pin keeps a concurrent rmi's garbage collection off them
  const unpin = store.blobs.pin([configDigest, manifestDesc.digest, ...(layer ? [layer.digest] : [])]);
  try {
    if (layer && staged) store.blobs.adopt(staged, layer.digest);
    store.blobs.put(configJson);
    store.blobs.put(manifestJson);
    addStoredSignatures(store.paths, manifestDesc.digest, signatures);
    store.images.add(opts.intermediate ? { ...manifestDesc, annotations: { [INTERMEDIATE]: 'true' } } : manifestDesc, names);
  } finally {
    unpin();
  }

  const mountState = await unmounting;
  if (layer && !opts.squash) await keepLayerUnpacked(store, rec, layer, config, !!opts.rm, mountState);
  else {
    if (mountState === 'unmounted') driver.mount(store, rec);
    // the container now stands on this image: its next commit's history follows this one's
    if (!opts.rm && !opts.squash) saveRecord(store, { ...rec, image: { ...rec.image, history: config.history ?? [] } });
  }
  if (opts.rm) {
    const { remove } = await import('../builder/containers.js');
    await remove(store, rec.id);
  }
  return { id: configDigest.slice('sha256:'.length), manifestDigest: manifestDesc.digest, names, layer };
}

function createdDate(opts: CommitOptions): string {
  const t = opts.timestamp ?? opts.sourceDateEpoch;
  return (t !== undefined ? new Date(t * 1000) : new Date()).toISOString().replace('.000Z', 'Z');
}

/** The same compressed bytes under the other format's media type name. */
function convertLayerType(mediaType: string, format: ImageFormat): string {
  const gz = mediaType.endsWith('gzip');
  const zstd = mediaType.endsWith('zstd');
  if (format === 'oci') return zstd ? MediaType.ociLayerZstd : gz ? MediaType.ociLayerGzip : MediaType.ociLayer;
  return gz ? MediaType.dockerLayerGzip : MediaType.dockerLayer;
}

/**
 * After a commit the container's own changes are exactly the new layer. When its upper directory can be
 * moved (not mounted, or unmountable now), it becomes layers/<diff-id> as it is and the container restarts
 * from the committed image with an empty upper: no copy at all. When a process holds the mount, the upper
 * is copied instead. vfs has no layer directories; its snapshot moves forward.
 */
async function keepLayerUnpacked(store: Store, rec: BuilderRecord, layer: Descriptor & { diffId: string }, config: ImageConfig, removing: boolean, mount: UnmountState | undefined): Promise<void> {
  const advance = () => {
    rec.layers = [...rec.layers, layer.diffId];
    rec.baseLayerDigests = [...rec.baseLayerDigests, { digest: layer.digest, size: layer.size, mediaType: layer.mediaType }];
    rec.image.history = config.history ?? [];
    saveRecord(store, rec);
  };
  if (rec.driver === 'vfs') {
    if (removing) return;
    saveSnapshot(snapshotFile(store.paths.container(rec.id)), takeSnapshot(vfsRootfs(store, rec)));
    advance();
    return;
  }
  const { upper } = overlayDirs(store, rec);
  const driver = await driverFor(rec.driver);
  const wasMounted = mount === 'unmounted';
  if (mount !== 'busy') {
    // record first: a crash before the rename leaves a record whose new layer is rebuilt from its blob
    if (!removing) advance();
    const staged = tmpName(store.paths.tmp, 'layer');
    fs.renameSync(upper, staged);
    fs.mkdirSync(upper, { mode: 0o755 });
    adoptLayerDir(store, staged, layer.diffId);
    if (wasMounted && !removing) driver.mount(store, rec);
    return;
  }
  const staged = tmpName(store.paths.tmp, 'layer');
  execFileSync('cp', ['-a', upper, staged]);
  adoptLayerDir(store, staged, layer.diffId);
}
