/**
 * Writing one large file from a stream of chunks without blocking the main thread: the writes run on the
 * thread pool while the caller goes on hashing and parsing what comes next. One write is in flight at a
 * time (chunks that arrive meanwhile go out together in the next writev), so the file takes one pool
 * thread and never queues ahead of the gunzip that feeds it.
 *
 * The chunks are held until written: the caller must not reuse their memory (stream chunks are never
 * reused, which is what this is for).
 */
import fs from 'node:fs';

/** Bytes accepted and not yet written before `write` makes its caller wait. */
const MAX_PENDING = 16 << 20;

export class StreamFile {
  private queue: Buffer[] = [];
  private queued = 0;
  private position = 0;
  private writing: Promise<void> | undefined;
  private failure: Error | undefined;
  private roomWaiter: (() => void) | undefined;

  /** `fd` stays the caller's to close, after `end()` has settled. */
  constructor(private readonly fd: number) {}

  /** Queue `chunk`; resolves at once unless too much is waiting, then when there is room again. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.writing ??= this.drain();
    if (this.queued > MAX_PENDING) await new Promise<void>((r) => (this.roomWaiter = r));
    if (this.failure) throw this.failure;
  }

  /**
   * Wait until everything queued is written, or has failed: no write is in flight once this settles, so
   * the fd may then be closed. Throws the first write error.
   */
  async end(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure;
  }

  /** Wait for the write in flight, whatever it did; for clean-up after a failure elsewhere. */
  async abandon(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const bufs = this.queue;
        this.queue = [];
        let left = bufs.reduce((n, b) => n + b.length, 0);
        let parts = bufs;
        while (left > 0) {
          const n = await writev(this.fd, parts, this.position);
          this.position += n;
          left -= n;
          if (left > 0) parts = dropFront(parts, n);
        }
        this.queued -= bufs.reduce((n, b) => n + b.length, 0);
        if (this.queued <= MAX_PENDING) this.wake();
      }
    } catch (err) {
      this.failure = err as Error;
    } finally {
      this.writing = undefined;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }
}

function writev(fd: number, bufs: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (err: NodeJS.ErrnoException | null, n: number) => (err ? reject(err) : resolve(n));
    if (bufs.length === 1) fs.write(fd, bufs[0], 0, bufs[0].length, position, done);
    else fs.writev(fd, bufs, position, done);
  });
}

/** `bufs` without its first `n` bytes (after a short write). */
function dropFront(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n >= bufs[i].length) n -= bufs[i++].length;
  return [bufs[i].subarray(n), ...bufs.slice(i + 1)];
}
