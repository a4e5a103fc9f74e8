import fs from 'node:fs';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, HodError, SystemError } from '../errors.js';
import { tmpName } from './atomic.js';
import { discardTree } from './discard.js';
import type { Store } from './store.js';
import type { UnpackOptions } from './unpack.js';

/** `zstd -dc FILE` as a stream that fails when zstd does (Node 20's zlib has no zstd). */
function zstdDecompress(file: string): Readable {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn('zstd', ['-q', '-dc', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const out = child.stdout;
  child.on('error', (e) => out.destroy(new SystemError(`zstd is not installed: it is needed to unpack a zstd layer (${e.message})`)));
  child.on('close', (code) => {
    if (code !== 0 && code !== null) out.destroy(new HodError('EUNPACK', `zstd -dc ${file} failed: ${err.trim() || `exit ${code}`}`));
  });
  return out;
}

/** Decompress a layer blob if it is gzip or zstd, hashing the uncompressed bytes on the way (the diff id). */
function openLayerBlob(store: Store, digest: string): { stream: Readable; diffId: () => string } {
  const hash = crypto.createHash('sha256');
  const file = store.blobs.path(digest);
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4);
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  const zstd = head.readUInt32LE(0) === 0xfd2fb528;
  const raw = zstd ? zstdDecompress(file) : fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const gzip = !zstd && head[0] === 0x1f && head[1] === 0x8b;
  const src = gzip ? raw.pipe(zlib.createGunzip({ chunkSize: 1 << 20 })) : raw;
  raw.on('error', (e: Error) => tap.destroy(e));
  src.on('error', (e: Error) => tap.destroy(e));
  src.pipe(tap);
  return { stream: tap, diffId: () => 'sha256:' + hash.digest('hex') };
}

/**
 * Unpack a layer blob onto `dest` (which may already hold lower layers, for `whiteouts: 'apply'`),
 * checking that its uncompressed content matches `diffId`.
 */
export async function applyLayerBlob(store: Store, digest: string, diffId: string, dest: string, opts: UnpackOptions): Promise<void> {
  const { stream, diffId: actual } = openLayerBlob(store, digest);
  // loaded here, not at the top: commit needs this module but not tar-stream and execa, 26 ms to load
  const { unpackLayer } = await import('./unpack.js');
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
    await applyLayerBlob(store, blobDigest, diffId, tmp, { whiteouts: 'overlay', parallelWrites: store.blobs.size(blobDigest) >= 16 << 20 });
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
