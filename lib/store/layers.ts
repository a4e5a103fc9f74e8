import fs from 'node:fs';
import crypto from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError } from '../errors.js';
import { tmpName } from './atomic.js';
import { discardTree } from './discard.js';
import type { Store } from './store.js';
import type { UnpackOptions } from './unpack.js';

/** Layers this large get a thread of their own for writing files (unpack's parallelWrites). */
export const PARALLEL_WRITES_FROM = 16 << 20;

type Decompress = typeof import('./unpack.js').decompressStream;

/** Decompress a layer blob (gzip, zstd...), hashing the uncompressed bytes on the way (the diff id). */
function openLayerBlob(store: Store, digest: string, decompress: Decompress, detect: typeof import('./unpack.js').detectCompression): { stream: Readable; diffId: () => string } {
  const hash = crypto.createHash('sha256');
  const file = store.blobs.path(digest);
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(6);
  fs.readSync(fd, head, 0, 6, 0);
  fs.closeSync(fd);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const dec = decompress(detect(head), fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  dec.output.on('error', (e: Error) => tap.destroy(e));
  void dec.finished.then((err) => err && tap.destroy(err));
  dec.output.pipe(tap);
  return { stream: tap, diffId: () => 'sha256:' + hash.digest('hex') };
}

/**
 * Unpack a layer blob onto `dest` (which may already hold lower layers, for `whiteouts: 'apply'`),
 * checking that its uncompressed content matches `diffId`.
 */
export async function applyLayerBlob(store: Store, digest: string, diffId: string, dest: string, opts: UnpackOptions): Promise<void> {
  // loaded here, not at the top: commit needs this module but not the tar reader
  const { unpackLayer, decompressStream, detectCompression } = await import('./unpack.js');
  const { stream, diffId: actual } = openLayerBlob(store, digest, decompressStream, detectCompression);
  await unpackLayer(stream, dest, opts);
  // drain anything after the tar's end blocks so the hash covers the whole blob
  await pipeline(stream, async function* (src) { for await (const _ of src) { /* drain */ } });
  const got = actual();
  if (got !== diffId) throw new DigestMismatchError(`layer ${digest}`, diffId, got);
}

/**
 * The unpacked, overlay-ready directory of a layer, shared read-only by every builder that uses it. Made
 * from the blob on first use; two processes racing to make it both succeed and one copy wins.
 */
export async function ensureLayerDir(store: Store, diffId: string, blobDigest: string): Promise<string> {
  const dir = store.paths.layer(diffId);
  if (fs.existsSync(dir)) return dir;
  const tmp = tmpName(store.paths.tmp, 'layer');
  fs.mkdirSync(tmp, { mode: 0o755 });
  try {
    // a fresh directory: a large layer's files may be written on a second thread
    await applyLayerBlob(store, blobDigest, diffId, tmp, { whiteouts: 'overlay', parallelWrites: store.blobs.size(blobDigest) >= PARALLEL_WRITES_FROM });
    adoptLayerDir(store, tmp, diffId);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Move a finished layer directory into layers/; if another process got there first, ours is dropped. */
export function adoptLayerDir(store: Store, staged: string, diffId: string): void {
  const dir = store.paths.layer(diffId);
  try {
    fs.renameSync(staged, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    discardTree(store.paths, staged);
  }
}
