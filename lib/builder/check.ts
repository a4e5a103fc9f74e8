/**
 * `hod system check`: is the store consistent? Every index entry's manifest, config and layer blobs are
 * present and hash to their digests; no blob or unpacked layer directory is left that nothing uses; every
 * working container's layers are there. `repair` drops the images whose blobs are missing or damaged, then
 * collects what nothing uses. Runs under the index lock, so a build going on cannot lose anything to it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { signedManifests } from '../store/signatures.js';
import type { ImageConfig, Manifest } from '../image/types.js';
import { isIndexType } from '../store/images.js';
import { hexOf } from '../store/paths.js';
import { isOverlayLike, type Store } from '../store/store.js';
import { collectGarbage } from './images.js';
import { listRecords } from './records.js';

export interface CheckReport {
  /** One line each, for people. */
  problems: string[];
  /** Manifest digests of images with missing or damaged blobs. */
  damaged: string[];
  orphanBlobs: number;
  orphanLayers: number;
  repaired: boolean;
}

function fileDigest(file: string): string | undefined {
  const hash = crypto.createHash('sha256');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${hash.digest('hex')}`;
}

export function checkStore(store: Store, opts: { repair?: boolean } = {}): CheckReport {
  const problems: string[] = [];
  const damaged = new Set<string>();
  const verified = new Map<string, string | undefined>();
  const blobOk = (digest: string, what: string, owner: string): boolean => {
    if (!verified.has(digest)) verified.set(digest, fileDigest(store.blobs.path(digest)));
    const got = verified.get(digest);
    if (got === digest) return true;
    problems.push(got === undefined ? `${owner}: ${what} ${digest} is missing` : `${owner}: ${what} ${digest} is damaged (its content hashes to ${got})`);
    return false;
  };
  const usedDiffIds = new Set<string>();
  const usedBlobs = new Set<string>();
  for (const desc of store.images.read().manifests) {
    const owner = `image ${desc.annotations?.['org.opencontainers.image.ref.name'] ?? hexOf(desc.digest).slice(0, 12)}`;
    usedBlobs.add(desc.digest);
    if (!blobOk(desc.digest, 'manifest', owner)) {
      damaged.add(desc.digest);
      continue;
    }
    if (isIndexType(desc.mediaType)) continue;
    const m = store.blobs.readJson<Manifest>(desc.digest);
    let ok = blobOk(m.config.digest, 'config', owner);
    usedBlobs.add(m.config.digest);
    for (const l of m.layers) {
      usedBlobs.add(l.digest);
      ok = blobOk(l.digest, 'layer', owner) && ok;
    }
    if (ok) store.blobs.readJson<ImageConfig>(m.config.digest).rootfs.diff_ids.forEach((d) => usedDiffIds.add(hexOf(d)));
    else damaged.add(desc.digest);
  }
  for (const rec of listRecords(store)) {
    for (const d of rec.layers) {
      usedDiffIds.add(hexOf(d));
      if (isOverlayLike(rec.driver) && !fs.existsSync(store.paths.layer(d))) problems.push(`container ${rec.name}: its layer ${d} is not unpacked in layers/`);
    }
    rec.baseLayerDigests.forEach((l) => usedBlobs.add(l.digest));
  }
  for (const d of store.blobs.pinned()) usedBlobs.add(d);
  const orphanBlobs = fs.readdirSync(store.paths.blobs).filter((hex) => !usedBlobs.has(`sha256:${hex}`));
  const orphanLayers = fs.existsSync(store.paths.layers) ? fs.readdirSync(store.paths.layers).filter((hex) => !usedDiffIds.has(hex)) : [];
  for (const hex of orphanBlobs) problems.push(`blob sha256:${hex} is used by no image`);
  for (const hex of orphanLayers) problems.push(`layer directory layers/${hex} is used by no image or container`);
  const orphanSignatures = signedManifests(store.paths).filter((d) => !usedBlobs.has(d));
  for (const d of orphanSignatures) problems.push(`signatures/${hexOf(d)} signs a manifest no image has`);

  if (opts.repair && (damaged.size || orphanBlobs.length || orphanLayers.length || orphanSignatures.length)) {
    if (damaged.size) store.images.update((index) => void (index.manifests = index.manifests.filter((d) => !damaged.has(d.digest))));
    collectGarbage(store);
  }
  return { problems, damaged: [...damaged], orphanBlobs: orphanBlobs.length, orphanLayers: orphanLayers.length, repaired: !!opts.repair };
}
