/**
 * A write stream for a large file that is not read again soon (a pulled blob: its layer is unpacked from the
 * same bytes while they stream), written with O_DIRECT so that it bypasses the page cache. Writing 400 MB
 * through the cache cost hod 0.4-1.5 s of kernel time here (page allocation, then writeback by the kernel's
 * flusher on the same two cores), against 0.05 s for the same bytes written direct (dd: 1.2 GB/s).
 *
 * O_DIRECT wants the memory, the file offset and the length aligned to the device's logical block size, so
 * the chunks are copied into aligned buffers (WebAssembly memory, which V8 maps page-aligned; a Buffer's
 * malloc'ed memory is not) and written a buffer at a time, one write in flight while the next buffer fills.
 * The tail that does not fill a block goes through a second, ordinary descriptor. Where O_DIRECT is
 * refused (tmpfs on older kernels, some FUSE file systems) the file is written the ordinary way.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';

/** Covers every logical block size in use (512 and 4096). */
const ALIGN = 4096;
const BUFFER_BYTES = 4 << 20;
const BUFFERS = 3;

/**
 * A stream writing `file` (created, or truncated, with `mode`): O_DIRECT when the file system takes it,
 * else an ordinary fs.WriteStream. The file exists once this returns.
 */
export function directWriteStream(file: string, mode = 0o644): Writable {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return fs.createWriteStream(file, { fd: fs.openSync(file, 'w', mode) });
  }
  return new DirectWriter(file, fd);
}

class DirectWriter extends Writable {
  private readonly spare: Buffer[];
  private current: Buffer;
  private used = 0;
  /** File offset of the current buffer's first byte. */
  private position = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Once a direct write is refused, the rest is written through the ordinary descriptor. */
  private plainFd: number | undefined;
  private fdsClosed = false;

  constructor(private readonly file: string, private readonly fd: number) {
    super({ highWaterMark: BUFFER_BYTES });
    const mem = Buffer.from(new WebAssembly.Memory({ initial: (BUFFER_BYTES * BUFFERS) / 65536 }).buffer);
    this.spare = Array.from({ length: BUFFERS }, (_, i) => mem.subarray(i * BUFFER_BYTES, (i + 1) * BUFFER_BYTES));
    this.current = this.spare.pop()!;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.fill(chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finish().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // a write still in flight must end before the descriptor is closed: its number could be reused at once
    this.inFlight.then(() => {
      this.closeFds();
      cb(err);
    }, () => {
      this.closeFds();
      cb(err);
    });
  }

  private async fill(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const n = chunk.copy(this.current, this.used, off);
      off += n;
      this.used += n;
      if (this.used === BUFFER_BYTES) await this.flushCurrent();
    }
  }

  /** Send the current (full) buffer and take a free one, waiting for one when all are busy. */
  private async flushCurrent(): Promise<void> {
    const buf = this.current;
    const at = this.position;
    this.position += BUFFER_BYTES;
    this.used = 0;
    const previous = this.inFlight;
    this.inFlight = previous.then(() => this.writeAll(buf, BUFFER_BYTES, at)).finally(() => this.spare.push(buf));
    if (this.spare.length === 0) await previous;
    if (this.spare.length === 0) await this.inFlight;
    if (this.failure) throw this.failure;
    this.current = this.spare.pop()!;
  }

  private async finish(): Promise<void> {
    const whole = this.used - (this.used % ALIGN);
    const buf = this.current;
    const at = this.position;
    const used = this.used;
    await this.inFlight;
    if (this.failure) throw this.failure;
    if (whole > 0) await this.writeAll(buf, whole, at);
    if (used > whole) await this.writeAll(buf.subarray(whole, used), used - whole, at + whole, true);
    if (this.failure) throw this.failure;
    this.closeFds();
  }

  private async writeAll(buf: Buffer, len: number, at: number, plain = this.plainFd !== undefined): Promise<void> {
    if (this.failure) return;
    try {
      for (let done = 0; done < len; ) {
        const fd = plain ? this.ordinaryFd() : this.fd;
        let n: number;
        try {
          n = await write(fd, buf, done, len - done, at + done);
        } catch (err) {
          // the file system took O_DIRECT at open but refuses these writes: go on without it
          if (plain || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
          plain = true;
          continue;
        }
        // a short direct write leaves the rest unaligned: finish it through the ordinary descriptor
        if (n < len - done && !plain) plain = true;
        done += n;
      }
    } catch (err) {
      this.failure ??= err as Error;
    }
  }

  private ordinaryFd(): number {
    this.plainFd ??= fs.openSync(this.file, fs.constants.O_WRONLY);
    return this.plainFd;
  }

  private closeFds(): void {
    if (this.fdsClosed) return;
    this.fdsClosed = true;
    fs.closeSync(this.fd);
    if (this.plainFd !== undefined) fs.closeSync(this.plainFd);
  }
}

function write(fd: number, buf: Buffer, off: number, len: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, position, (err, n) => (err ? reject(err) : resolve(n))));
}
