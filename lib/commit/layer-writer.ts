/**
 * One streaming pass from tar entries to a layer blob on disk:
 *   tarChunks (sync reads into 1 MiB chunks) -> sha256 (diff id) -> pgzip (worker threads) -> sha256 + size
 *   -> writeSync to `opts.out`.
 * On any error the promise rejects and the partial output file is removed.
 */
import fs from 'node:fs';
import crypto from 'node:crypto';
import { tarChunks, type TarEntry } from './tar-writer.js';
import { pgzip, gzipLevel, pgzipBlockSize } from './pgzip.js';

export interface LayerResult {
  /** "sha256:<hex>" of the uncompressed tar. */
  diffId: string;
  /** "sha256:<hex>" of the blob as written (== diffId when uncompressed). */
  digest: string;
  /** Blob size in bytes. */
  size: number;
  uncompressedSize: number;
  compressed: boolean;
}

export interface WriteLayerOptions {
  /** File to write (created or truncated, mode 0644); the caller renames it into place. */
  out: string;
  compression: 'gzip' | 'none';
  /** gzip level; default `gzipLevel`. */
  level?: number;
  /** Compression worker threads; default os.availableParallelism(); 0 compresses on the main thread. */
  workers?: number;
  /** fsync the file before resolving (default false; the caller may fsync when it renames). */
  fsync?: boolean;
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

export async function writeLayer(entries: Iterable<TarEntry>, opts: WriteLayerOptions): Promise<LayerResult> {
  const fd = fs.openSync(opts.out, 'w', 0o644);
  let open = true;
  try {
    const diff = crypto.createHash('sha256');
    let uncompressedSize = 0;
    const tar = function* (): Generator<Buffer, void, undefined> {
      for (const chunk of tarChunks(entries, pgzipBlockSize)) {
        diff.update(chunk);
        uncompressedSize += chunk.length;
        yield chunk;
      }
    };

    let result: LayerResult;
    if (opts.compression === 'none') {
      for (const chunk of tar()) writeAll(fd, chunk);
      const diffId = `sha256:${diff.digest('hex')}`;
      result = { diffId, digest: diffId, size: uncompressedSize, uncompressedSize, compressed: false };
    } else if (opts.compression === 'gzip') {
      const blob = crypto.createHash('sha256');
      let size = 0;
      const gz = pgzip(tar(), {
        level: opts.level ?? gzipLevel,
        blockSize: pgzipBlockSize,
        workers: opts.workers,
        transfer: true,
      });
      for await (const chunk of gz) {
        blob.update(chunk);
        size += chunk.length;
        writeAll(fd, chunk);
      }
      result = {
        diffId: `sha256:${diff.digest('hex')}`,
        digest: `sha256:${blob.digest('hex')}`,
        size,
        uncompressedSize,
        compressed: true,
      };
    } else {
      throw new RangeError(`unknown layer compression "${String(opts.compression)}"`);
    }
    if (opts.fsync) fs.fsyncSync(fd);
    open = false;
    fs.closeSync(fd);
    return result;
  } catch (err) {
    if (open) {
      try {
        fs.closeSync(fd);
      } catch {
        // the original error matters more
      }
    }
    fs.rmSync(opts.out, { force: true });
    throw err;
  }
}
