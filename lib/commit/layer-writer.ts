/**
 * One streaming pass from tar entries to a layer blob on disk:
 *   tarChunks (sync reads into 1 MiB chunks) -> sha256 (diff id) -> pgzip (worker threads) -> sha256 + size
 *   -> positional writes to `opts.out` on libuv's threads, so the disk works while the next files are read.
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

/** Writes in flight at most; each chunk is 1 MiB. */
const MAX_IN_FLIGHT = 8;

/**
 * Appends chunks to a file with positional writes that run on libuv's thread pool while the caller goes on
 * reading and hashing: overlapping the two took an uncompressed W1 commit from 0.8 s to ~0.5 s. Chunks
 * must not be touched after append (tarChunks and pgzip hand over fresh buffers).
 */
class FileAppender {
  private pos = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly fd: number) {}

  async append(buf: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const at = this.pos;
    this.pos += buf.length;
    this.inFlight++;
    this.writeAt(buf, 0, at);
    while (this.inFlight >= MAX_IN_FLIGHT && !this.failure) await new Promise<void>((r) => (this.wake = r));
    if (this.failure) throw this.failure;
  }

  private writeAt(buf: Buffer, off: number, at: number): void {
    fs.write(this.fd, buf, off, buf.length - off, at, (err, n) => {
      if (err) this.failure ??= err;
      else if (off + n < buf.length) return this.writeAt(buf, off + n, at + n);
      this.inFlight--; // also on failure, so flush() ends
      const w = this.wake;
      this.wake = undefined;
      w?.();
    });
  }

  /** Wait for every write; the first failure is thrown. */
  async flush(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => (this.wake = r));
    if (this.failure) throw this.failure;
  }
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

    const out = new FileAppender(fd);
    let result: LayerResult;
    if (opts.compression === 'none') {
      for (const chunk of tar()) await out.append(chunk);
      await out.flush();
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
        await out.append(chunk);
      }
      await out.flush();
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
