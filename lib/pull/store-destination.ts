/**
 * hod's store as an ImageDestination (pull, and copies between stores): blobs land verified through tmp/,
 * layers are unpacked into layers/<diff-id> before the image is named, so a later `from` extracts nothing.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ImageDestination, RawManifest } from '../image/transport.js';
import type { Descriptor, ImageConfig, Manifest } from '../image/types.js';
import { tmpName, fileWriteStream } from '../store/atomic.js';
import { ensureLayerDir } from '../store/layers.js';
import type { Store } from '../store/store.js';
import { verifier } from './copy-image.js';

export class StoreDestination implements ImageDestination {
  readonly description: string;
  private manifest: { desc: Descriptor; parsed: Manifest } | undefined;
  private unpin: (() => void) | undefined;
  private readonly landed: string[] = [];
  /** The image id (config digest hex) once committed. */
  id: string | undefined;

  constructor(private readonly store: Store, private readonly names: string[]) {
    this.description = names[0] ?? 'the local store';
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.store.blobs.has(desc.digest);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const staged = tmpName(this.store.paths.tmp, 'pull-blob');
    try {
      await pipeline(data, verifier(desc, this.description), fileWriteStream(staged));
      this.pin(desc.digest);
      this.store.blobs.adopt(staged, desc.digest);
    } catch (err) {
      fs.rmSync(staged, { force: true });
      throw err;
    }
  }

  async putManifest(raw: RawManifest): Promise<void> {
    const { digest, size } = this.store.blobs.put(raw.bytes);
    this.pin(digest);
    this.manifest = { desc: { mediaType: raw.mediaType, digest, size }, parsed: JSON.parse(raw.bytes.toString()) as Manifest };
  }

  async commit(): Promise<void> {
    if (!this.manifest) throw new Error('StoreDestination.commit before putManifest');
    const { desc, parsed } = this.manifest;
    const config = this.store.blobs.readJson<ImageConfig>(parsed.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== parsed.layers.length) {
      throw new Error(`${this.description}: the config lists ${diffIds.length} layers, the manifest ${parsed.layers.length}`);
    }
    for (let i = 0; i < diffIds.length; i++) await ensureLayerDir(this.store, diffIds[i], parsed.layers[i].digest);
    this.store.images.add(desc, this.names);
    this.id = parsed.config.digest.slice('sha256:'.length);
  }

  async close(): Promise<void> {
    this.unpin?.();
  }

  /** Landed blobs stay pinned until the image names them, so a concurrent rmi's collection keeps them. */
  private pin(digest: string): void {
    this.landed.push(digest);
    this.unpin?.();
    this.unpin = this.store.blobs.pin(this.landed);
  }
}

