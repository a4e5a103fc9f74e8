/**
 * hod's store as an ImageDestination (pull, and copies between stores): blobs land verified through tmp/,
 * layers are unpacked into layers/<diff-id> before the image is named, so a later `from` extracts nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { DigestMismatchError } from '../errors.js';
import type { ImageDestination, RawManifest } from '../image/transport.js';
import type { Descriptor, ImageConfig, Manifest } from '../image/types.js';
import { tmpName, fileWriteStream } from '../store/atomic.js';
import { directWriteStream } from '../store/direct-file.js';
import { discardTree } from '../store/discard.js';
import { adoptLayerDir, ensureLayerDir, PARALLEL_WRITES_FROM } from '../store/layers.js';
import { unpackLayer } from '../store/unpack.js';
import { prestartFileWriter } from '../store/file-writer.js';
import type { Store } from '../store/store.js';
import { addStoredSignatures } from '../store/signatures.js';
import type { Signature } from '../signature/types.js';
import { verifier } from './copy-image.js';

/** Blobs from this size on are written with O_DIRECT (direct-file.ts). */
const DIRECT_FROM = 4 << 20;

export class StoreDestination implements ImageDestination {
  readonly description: string;
  /** Every blob is hashed as it is written and refused on a mismatch. */
  readonly checksDigests = true;
  private manifest: { desc: Descriptor; parsed: Manifest } | undefined;
  private unpin: (() => void) | undefined;
  private readonly landed: string[] = [];
  /** Layers unpacked while they downloaded: blob digest -> staged directory and the diff id its bytes gave. */
  private readonly unpacked = new Map<string, { dir: string; diffId: string }>();
  private signatures: { digest: string; sigs: Signature[] } | undefined;
  /** The image id (config digest hex) once committed. */
  id: string | undefined;

  /** `unpack: false`: blobs only; `from` unpacks the layers when a container first needs them (ensureLayerDir). */
  constructor(private readonly store: Store, private readonly names: string[], private readonly opts: { unpack?: boolean } = {}) {
    this.description = names[0] ?? 'the local store';
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.store.blobs.has(desc.digest);
  }

  prepare(blobs: Descriptor[]): void {
    const large = (d: Descriptor) => d.size >= PARALLEL_WRITES_FROM && layerCompression(d.mediaType) !== undefined && !this.store.blobs.has(d.digest);
    if (this.opts.unpack !== false && blobs.some(large)) prestartFileWriter();
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const staged = tmpName(this.store.paths.tmp, 'pull-blob');
    const compression = this.opts.unpack === false ? undefined : layerCompression(desc.mediaType);
    const dir = compression ? tmpName(this.store.paths.tmp, 'layer') : undefined;
    try {
      const check = verifier(desc, this.description);
      // a large blob bypasses the page cache: a layer is unpacked from these very bytes as they pass, and
      // nothing reads the blob again soon
      const toFile = pipeline(data, check, desc.size >= DIRECT_FROM ? directWriteStream(staged) : fileWriteStream(staged));
      // a layer is also unpacked as it arrives, so the download and the extraction overlap
      const unpacking = dir && compression ? this.unpackWhileDownloading(check, compression, dir, desc.size >= PARALLEL_WRITES_FROM) : undefined;
      await Promise.all([toFile, unpacking]);
      this.pin(desc.digest);
      this.store.blobs.adopt(staged, desc.digest);
      if (dir && unpacking) this.unpacked.set(desc.digest, { dir, diffId: (await unpacking)! });
    } catch (err) {
      fs.rmSync(staged, { force: true });
      if (dir) discardTree(this.store.paths, dir);
      throw err;
    }
  }

  /** Unpack the verified bytes of a layer into `dir` (overlay form); resolves to the diff id they hash to. */
  private async unpackWhileDownloading(check: Readable, compression: 'gzip' | 'none', dir: string, parallelWrites: boolean): Promise<string> {
    fs.mkdirSync(dir, { mode: 0o755 });
    const plain = compression === 'gzip' ? zlib.createGunzip({ chunkSize: 1 << 20 }) : new PassThrough({ highWaterMark: 1 << 20 });
    const hash = crypto.createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        // hashed after this turn, not in it: zlib hands a chunk over from inside its callback and starts
        // inflating the next one only when the chunk's readers return
        queueMicrotask(() => hash.update(chunk));
        cb(null, chunk);
      },
    });
    // a second reader of the verified stream: the first failure on either side stops both
    check.on('error', (e) => plain.destroy(e));
    check.pipe(plain);
    plain.on('error', (e) => tap.destroy(e));
    plain.pipe(tap);
    try {
      await unpackLayer(tap, dir, { whiteouts: 'overlay', parallelWrites });
      // what follows the tar's end blocks still belongs to the diff id
      await pipeline(tap, async function* (src) { for await (const _ of src) { /* drain */ } });
    } catch (err) {
      check.destroy(err as Error);
      throw err;
    }
    return `sha256:${hash.digest('hex')}`;
  }

  async putManifest(raw: RawManifest): Promise<void> {
    const { digest, size } = this.store.blobs.put(raw.bytes);
    this.pin(digest);
    this.manifest = { desc: { mediaType: raw.mediaType, digest, size }, parsed: JSON.parse(raw.bytes.toString()) as Manifest };
  }

  async putSignatures(manifestDigest: string, sigs: Signature[]): Promise<void> {
    this.signatures = { digest: manifestDigest, sigs };
  }

  async commit(): Promise<void> {
    if (!this.manifest) throw new Error('StoreDestination.commit before putManifest');
    const { desc, parsed } = this.manifest;
    const config = this.store.blobs.readJson<ImageConfig>(parsed.config.digest);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== parsed.layers.length) {
      throw new Error(`${this.description}: the config lists ${diffIds.length} layers, the manifest ${parsed.layers.length}`);
    }
    for (let i = 0; i < diffIds.length; i++) {
      const u = this.unpacked.get(parsed.layers[i].digest);
      if (!u) {
        if (this.opts.unpack !== false) await ensureLayerDir(this.store, diffIds[i], parsed.layers[i].digest);
        continue;
      }
      if (u.diffId !== diffIds[i]) throw new DigestMismatchError(`layer ${parsed.layers[i].digest} of ${this.description}`, diffIds[i], u.diffId);
      adoptLayerDir(this.store, u.dir, diffIds[i]);
      this.unpacked.delete(parsed.layers[i].digest);
    }
    // written while the manifest is pinned, so a concurrent collection keeps them before the index names it
    if (this.signatures) addStoredSignatures(this.store.paths, this.signatures.digest, this.signatures.sigs);
    this.store.images.add(desc, this.names);
    this.id = parsed.config.digest.slice('sha256:'.length);
  }

  async close(): Promise<void> {
    this.unpin?.();
    for (const u of this.unpacked.values()) discardTree(this.store.paths, u.dir);
  }

  /** Landed blobs stay pinned until the image names them, so a concurrent rmi's collection keeps them. */
  private pin(digest: string): void {
    this.landed.push(digest);
    this.unpin?.();
    this.unpin = this.store.blobs.pin(this.landed);
  }
}

/** How a layer blob is compressed, when it is one this destination can unpack while it streams. */
function layerCompression(mediaType: string): 'gzip' | 'none' | undefined {
  if (!/layer|rootfs\.diff/.test(mediaType)) return undefined;
  if (/gzip$/.test(mediaType)) return 'gzip';
  if (/tar$/.test(mediaType)) return 'none';
  return undefined; // zstd and foreign layers: unpacked from the stored blob at commit
}

