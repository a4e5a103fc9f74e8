/**
 * Regular files of a large layer written by a worker thread while the main thread parses the tar: on a
 * tree of 20,000 small files the open/write/futimes/close calls are half the unpack, and they can run on
 * the second core. The main thread copies each file's bytes into a batch buffer (transferred, not copied
 * again) and keeps the set of paths not yet written, so that it can wait (`flush`) before it touches any of
 * them or anything that could change how they resolve.
 */
import { Worker } from 'node:worker_threads';
import { HodError } from '../errors.js';

/** One file for the worker: its bytes are `buf[off, off+len)` of the batch. */
export interface FileOp {
  /** Host path as a latin1 byte string; every directory above it exists and is a real directory. */
  path: string;
  openMode: number;
  mode: number;
  chmod: boolean;
  uid: number;
  gid: number;
  chown: boolean;
  atime: number;
  mtime: number;
  off: number;
  len: number;
}

export interface FileBatch {
  id: number;
  buf: ArrayBuffer;
  ops: FileOp[];
}

export interface FileBatchResult {
  id: number;
  error?: { message: string; code?: string; path: string };
  /** The batch's buffer, transferred back to be filled again. */
  buf: ArrayBuffer;
}

export type FileMeta = Omit<FileOp, 'path' | 'off' | 'len'>;

const BATCH_BYTES = 2 << 20;
// One thread: with two, alternated run by run, a W1 pull took longer (1.6-1.9 s against 1.5-1.8 s): the
// kernel's inode creation, which both wait on, does not go faster for it.
/** Batches sent and not yet written; more waits, so memory stays near this many batch buffers. */
const MAX_IN_FLIGHT = 3;

// the path goes through ../store/ so it also resolves from the CLI bundles, whose import.meta.url is lib/cli/
const startWorker = (): Worker => new Worker(new URL('../store/file-writer-worker.js', import.meta.url), { execArgv: [] });

/** A thread started ahead of the FileWriter that will take it (`prestartFileWriter`). */
let spare: Worker | undefined;

/**
 * Start the thread of the next FileWriter now. A worker thread takes 30 ms to boot on an idle core, and
 * 150 ms beside a pull's gunzip, download and registry: started with the unpack, it came online after the
 * parser had filled its three batches and stopped to wait. Unref'd until taken, so an unused one does not
 * keep the process alive (it still costs 10-25 ms at exit: start it only for a layer that will need it).
 */
export function prestartFileWriter(): void {
  if (spare) return;
  const w = startWorker();
  w.unref();
  w.on('error', () => {}); // a thread that fails to boot is replaced when taken (the 'exit' below)
  w.once('exit', () => {
    if (spare === w) spare = undefined;
  });
  spare = w;
}

export class FileWriter {
  private readonly worker: Worker;
  private buf: Buffer = Buffer.allocUnsafeSlow(BATCH_BYTES);
  /**
   * Batch buffers the worker has sent back. Filling a fresh 2 MB buffer page-faults on every 4 KB it touches:
   * with a new one per batch, the copy into them took 120 ms of a W1 pull's main thread.
   */
  private readonly free: Buffer[] = [];
  private used = 0;
  private ops: FileOp[] = [];
  private nextId = 1;
  /** Batch id -> its paths, until the worker says it is written. */
  private readonly inFlight = new Map<number, string[]>();
  private readonly pendingPaths = new Set<string>();
  private waiters: (() => void)[] = [];
  private failure: Error | undefined;

  constructor() {
    this.worker = spare ?? startWorker();
    spare = undefined;
    this.worker.ref();
    this.worker.on('message', (msg: FileBatchResult) => {
      for (const p of this.inFlight.get(msg.id) ?? []) this.pendingPaths.delete(p);
      this.inFlight.delete(msg.id);
      if (msg.buf.byteLength === BATCH_BYTES) this.free.push(Buffer.from(msg.buf));
      if (msg.error) {
        const e = msg.error;
        this.failure ??= new HodError(e.code === 'EEXIST' ? 'EUNPACK' : e.code ?? 'EUNPACK', `writing ${Buffer.from(e.path, 'latin1').toString()}: ${e.message}`);
      }
      this.wake();
    });
    this.worker.on('error', (err) => {
      this.failure ??= new HodError('EUNPACK', `file writer thread failed: ${err.message}`, { cause: err });
      this.wake();
    });
    this.worker.on('exit', () => {
      this.failure ??= new HodError('EUNPACK', 'file writer thread exited');
      this.wake();
    });
  }

  /** Whether a file at `path` is queued or being written. */
  isPending(path: string): boolean {
    return this.pendingPaths.has(path);
  }

  get busy(): boolean {
    return this.pendingPaths.size > 0;
  }

  /** Queue a regular file of `size` bytes whose content is `chunks` (an array when it is all at hand). */
  async add(path: string, size: number, meta: FileMeta, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<number> {
    this.check();
    if (size > BATCH_BYTES - this.used) await this.send();
    // a file larger than a batch gets a buffer of its own
    if (size > this.buf.length - this.used) this.buf = Buffer.allocUnsafeSlow(size);
    const off = this.used;
    let len = 0;
    const copy = (chunk: Buffer) => {
      if (len + chunk.length > size) throw new HodError('EUNPACK', `archive entry for ${Buffer.from(path, 'latin1').toString()} has more bytes than its header says`);
      chunk.copy(this.buf, off + len);
      len += chunk.length;
    };
    // no async iteration for a body at hand: per file, that was most of this function's cost
    if (Array.isArray(chunks)) for (const c of chunks) copy(c);
    else for await (const c of chunks) copy(c);
    this.used += len;
    // spelled out: `{ ...meta, path, off, len }` took V8's slow path, 7 us a file (140 ms of a W1 pull)
    const m = meta;
    this.ops.push({ path, openMode: m.openMode, mode: m.mode, chmod: m.chmod, uid: m.uid, gid: m.gid, chown: m.chown, atime: m.atime, mtime: m.mtime, off, len });
    this.pendingPaths.add(path);
    return len;
  }

  /** Wait until every queued file is written; throws the worker's first failure. */
  async flush(): Promise<void> {
    if (this.ops.length) await this.send();
    while (this.inFlight.size > 0 && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    this.check();
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private async send(): Promise<void> {
    if (!this.ops.length) return;
    while (this.inFlight.size >= MAX_IN_FLIGHT && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    this.check();
    const batch: FileBatch = { id: this.nextId++, buf: this.buf.buffer as ArrayBuffer, ops: this.ops };
    this.inFlight.set(batch.id, this.ops.map((o) => o.path));
    this.worker.postMessage(batch, [batch.buf]);
    this.buf = this.free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.used = 0;
    this.ops = [];
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
