/**
 * Reading a tar layer (or any tarball, for ADD) onto disk, safely.
 *
 * Safety: every entry name is cleaned lexically (a leading "/" is dropped as tar does; a `..` that climbs above
 * the destination is refused) and then resolved with pathsafe's chroot-like walk in 'refuse' mode: an existing
 * symlink on the way, created by an earlier entry or already in the destination, is followed only if it stays
 * inside without the help of a chroot, so `evil -> /` followed by `evil/etc/passwd` is refused rather than
 * written. Hardlink targets are resolved the same way and must exist inside the destination. The last component
 * of a name is never followed: whatever is there is replaced. Refusals are HostileArchiveError naming the entry.
 *
 * Names are handled as byte strings (see pathsafe.ts) from the tar header to the syscalls, so names that are not
 * UTF-8 come out exactly as they went in.
 *
 * Metadata: modes are applied exactly (fchmod after creation, the umask plays no part), ownership from the
 * archive or `ownership`, then xattrs (after chown, which would clear security.capability), mtimes; directory
 * mtimes last of all, once nothing more is written into them. Device nodes and fifos are created with the
 * mknod command, batched (see xattr.ts), and so are the xattrs (one setfattr run per layer).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { HodError, HostileArchiveError, SystemError } from '../errors.js';
import { PathEscapeError, cleanRelative, fromByteString, safeJoin, toByteString } from './pathsafe.js';
import { FileWriter } from './file-writer.js';
import { StreamFile } from './stream-file.js';
import { DirectFile, O_DIRECT } from './direct-file.js';
import { readTar, type PaxRecords, type TarEntry, type TarHeader } from './tar-reader.js';
import {
  OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR, OVERLAY_OPAQUE_VALUE, OVERLAY_XATTR_PREFIX, isOpaqueMarker, isValidWhiteoutTarget,
  isWhiteoutMeta, hasWhiteoutPrefix, whiteoutTarget,
} from './whiteout.js';
import { inUserNamespace } from './userns.js';
import { mknodMany, setXattrsMany, type DeviceNode, type Xattrs } from './xattr.js';

export interface UnpackOptions {
  /**
   * What to do with OCI whiteout entries (`.wh.x`, `.wh..wh..opq`):
   * - 'overlay': write overlayfs's form, for directories used as overlay lower layers: `.wh.x` becomes a char
   *   device 0:0 named `x`, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory;
   * - 'apply': delete `x` / empty the directory (of what lower layers put there) in dest, for flattening a layer
   *   onto a full tree (the vfs driver);
   * - 'none': write `.wh.*` entries as the plain files they claim to be.
   */
  whiteouts: 'overlay' | 'apply' | 'none';
  /** Force the owner of every entry (ADD --chown). Default: the archive's uid/gid (we run as root). */
  ownership?: { uid: number; gid: number };
  /** Set every mtime (and atime) to this, in seconds since the epoch (like SOURCE_DATE_EPOCH). */
  mtimeOverride?: number;
  /**
   * Write regular files on a worker thread (file-writer.ts), for large layers. Only for a `dest` that is a
   * new, empty directory, and not with whiteouts 'apply': everything there is then this unpack's own doing.
   */
  parallelWrites?: boolean;
}

export interface UnpackResult {
  /** Archive members read (whiteouts and skipped entries included; pax/long-name headers not). */
  entries: number;
  /** Bytes of regular-file content written. */
  bytes: number;
}

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

/** Recognise a compressed stream by its magic bytes (at least 6 bytes of head are needed for xz). */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2'; // "BZh"
  if (head.length >= 6 && head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const EXTERNAL: Record<'bzip2' | 'xz' | 'zstd', string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

/** Whether a 512-byte block is a tar header: its checksum is right (any tar format: v7, ustar, gnu, pax). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  let unsigned = 0;
  let signed = 0;
  let allZero = true;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (block[i] !== 0) allZero = false;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (allZero) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const sum = parseInt(field, 8);
  return sum === unsigned || sum === signed;
}

/**
 * Whether the file at `file` is a tar archive, possibly compressed (gzip, bzip2, xz, zstd): its first block,
 * decompressed if needed, is a valid tar header. Used by `hod add` to decide whether to unpack a local file.
 */
export async function isTarArchive(file: string): Promise<boolean> {
  const head = Buffer.alloc(512);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    n = fs.readSync(fd, head, 0, 512, 0);
  } finally {
    fs.closeSync(fd);
  }
  const comp = detectCompression(head.subarray(0, n));
  if (comp === 'none') return isTarHeader(head.subarray(0, n));
  try {
    return isTarHeader(await decompressedHead(file, comp, 512));
  } catch {
    return false;
  }
}

/** The first `n` bytes (or fewer if it is shorter or broken) of the decompressed content of `file`. */
async function decompressedHead(file: string, comp: Exclude<Compression, 'none'>, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  if (comp === 'gzip') {
    const input = fs.createReadStream(file);
    const gunzip = zlib.createGunzip();
    input.pipe(gunzip);
    input.on('error', (err) => gunzip.destroy(err));
    try {
      for await (const chunk of gunzip) {
        chunks.push(chunk as Buffer);
        len += (chunk as Buffer).length;
        if (len >= n) break;
      }
    } catch {
      // a truncated or broken stream: judge what came out
    } finally {
      input.destroy();
      gunzip.destroy();
    }
    return Buffer.concat(chunks).subarray(0, n);
  }
  const { execa } = await import('execa');
  const proc = execa(EXTERNAL[comp], ['-dc', '--', file], {
    stdin: 'ignore', stdout: 'pipe', stderr: 'ignore', buffer: false, reject: false,
  });
  try {
    for await (const chunk of proc.stdout!) {
      chunks.push(chunk as Buffer);
      len += (chunk as Buffer).length;
      if (len >= n) break;
    }
  } catch {
    // judge what came out
  } finally {
    proc.kill();
    await proc;
  }
  return Buffer.concat(chunks).subarray(0, n);
}

// ---------------------------------------------------------------------------------------------------------------
// Input plumbing

/**
 * Read at least `n` bytes of `input` (fewer if it ends) and put them back, so that the stream can then be piped
 * whole. Returns the head and the stream to read from (`input` itself unless it has already ended).
 */
function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const cleanup = (): void => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', onError);
    };
    const finish = (ended: boolean): void => {
      cleanup();
      const head = Buffer.concat(chunks);
      if (ended) {
        resolve({ head, stream: Readable.from(head.length > 0 ? [head] : [], { objectMode: false }) });
        return;
      }
      input.unshift(head);
      resolve({ head, stream: input });
    };
    const onReadable = (): void => {
      let chunk: Buffer | string | null;
      while ((chunk = input.read() as Buffer | string | null) !== null) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(b);
        len += b.length;
        if (len >= n) {
          finish(false);
          return;
        }
      }
    };
    const onEnd = (): void => finish(true);
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    input.on('readable', onReadable);
    input.once('end', onEnd);
    input.once('error', onError);
  });
}

export interface Decompressor {
  output: Readable;
  /** Settles when the decompressor is done: undefined, or the error that explains a failure. Never rejects. */
  finished: Promise<Error | undefined>;
  abort(): void;
}

/** `src` decompressed (gzip in-process, bzip2/xz/zstd through their programs); `finished` explains a failure. */
export function decompressStream(comp: Compression, src: Readable): Decompressor {
  if (comp === 'none') {
    const finished = new Promise<Error | undefined>((resolve) => {
      src.once('end', () => resolve(undefined));
      src.once('error', (err) => resolve(err));
      src.once('close', () => resolve(undefined));
    });
    return { output: src, finished, abort: () => src.destroy() };
  }
  if (comp === 'gzip') {
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
    const finished = new Promise<Error | undefined>((resolve) => {
      pipeline(src, gunzip, (err) => resolve(err ? new HodError('EUNPACK', `gzip: ${err.message}`, { cause: err }) : undefined));
    });
    return { output: gunzip, finished, abort: () => { gunzip.destroy(); src.destroy(); } };
  }
  const cmd = EXTERNAL[comp];
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  let aborted = false;
  let kill = (): void => {};
  // execa is loaded here, on first use: it takes ~25 ms to load, and most layers are gzip
  const finished = import('execa').then(({ execa }) => {
    if (aborted) return undefined;
    const proc = execa(cmd, ['-dc'], {
      stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, reject: false,
    });
    kill = () => proc.kill();
    pipeline(src, proc.stdin!, () => {
      // EPIPE and friends: the exit status of the decompressor tells what went wrong
    });
    pipeline(proc.stdout!, output, () => {
      // a stream cut short: the tar reader says so, and the exit status explains it
    });
    return proc.then((res) => {
      if (res.exitCode === 0 || aborted) return undefined;
      if (res.failed && res.exitCode === undefined && res.code === 'ENOENT') {
        return new SystemError(`${cmd} is not installed: it is needed to decompress a ${comp} layer`);
      }
      return new HodError('EUNPACK', `${cmd} -dc failed: ${String(res.stderr ?? '').trim() || res.shortMessage}`);
    });
  }).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    output.destroy(e);
    return e;
  });
  return {
    output,
    finished,
    abort: () => {
      aborted = true;
      kill();
      src.destroy();
      output.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Unpacking

/**
 * Unpack a tar stream, optionally compressed (gzip, bzip2, xz, zstd, recognised by magic), into `dest` (created
 * if missing). See the module doc and UnpackOptions. Throws HostileArchiveError for entries that would land or
 * write outside dest; nothing outside dest is touched. The input is read to its end (data after the tar's end
 * blocks included). For speed, hand in a stream with big chunks (e.g. `fs.createReadStream(blob,
 * { highWaterMark: 1 << 20 })`): entries are written synchronously and small reads leave the disk idle.
 */
export async function unpackLayer(input: Readable, dest: string, opts: UnpackOptions): Promise<UnpackResult> {
  const root = path.resolve(dest);
  fs.mkdirSync(root, { recursive: true });
  const { head, stream } = await peek(input, 6);
  const dec = decompressStream(detectCompression(head), stream);
  const globals: PaxRecords = new Map();
  const writer = opts.parallelWrites && opts.whiteouts !== 'apply' ? new FileWriter() : undefined;
  const u = new Unpacker(toByteString(root), opts, globals, writer);
  try {
    for await (const entry of readTar(dec.output, globals)) await u.entry(entry);
    await u.finish();
  } catch (err) {
    const ours = err instanceof HodError || (err as NodeJS.ErrnoException).syscall !== undefined;
    if (!ours) {
      // a tar parse error ("Invalid tar header", "Unexpected end of data") is better explained by a failing
      // decompressor, if it fails
      const decErr = await Promise.race([dec.finished, delay(500, undefined, { ref: false })]);
      dec.abort();
      throw decErr ?? new HodError('EUNPACK', `cannot read archive: ${(err as Error).message}`, { cause: err });
    }
    dec.abort();
    throw err;
  } finally {
    // stops the thread between two calls at the latest: nothing writes under dest once this returns
    await writer?.close();
  }
  const decErr = await dec.finished;
  if (decErr) throw decErr;
  return { entries: u.entries, bytes: u.bytes };
}

interface PendingNode {
  node: DeviceNode;
  uid: number;
  gid: number;
  whiteout: boolean;
  times?: [number, number];
}

const B = (p: string): Buffer => Buffer.from(p, 'latin1');
const S_ISGID = 0o2000;
/** Files up to this size go to the writer thread (file-writer.ts), which holds each one whole. */
const WRITER_WHOLE_FILE = 1 << 20;
/** Files from this size on are written with O_DIRECT (direct-file.ts). */
const DIRECT_FROM = 4 << 20;

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(B(p));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

const dirname = (p: string): string => path.posix.dirname(p);

class Unpacker {
  entries = 0;
  bytes = 0;
  /** Host paths (byte strings) known to be real directories; cleared whenever a directory is removed. */
  private readonly knownDirs = new Set<string>();
  /**
   * Known directories without the setgid bit: a file created in one gets our own gid, so when the entry's
   * owner is us already no chown is needed. Cleared with knownDirs.
   */
  private readonly plainDirs = new Set<string>();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  private readonly umask = currentUmask();
  /** Device nodes and whiteouts waiting for the next mknod batch, and every directory above one of them. */
  private readonly pendingNodes = new Map<string, PendingNode>();
  private readonly pendingDirs = new Set<string>();
  private readonly pendingXattrs = new Map<string, Xattrs>();
  private readonly dirTimes = new Map<string, [number, number]>();
  /** 'apply' mode: what this archive wrote (and the directories above), which its own whiteouts must not delete. */
  private readonly written: Set<string> | undefined;

  /** False once dest's file system has refused O_DIRECT. */
  private directOk = O_DIRECT !== 0;

  /** The directory of the path target() returned last. */
  private targetDir = '';

  /** With a writer: every path this unpack created or queued, which is all there is under root. */
  private readonly touched = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly opts: UnpackOptions,
    private readonly globalPax: PaxRecords,
    private readonly writer?: FileWriter,
  ) {
    this.knownDirs.add(root);
    if (!(fs.statSync(B(root)).mode & S_ISGID)) this.plainDirs.add(root);
    this.written = opts.whiteouts === 'apply' ? new Set([root]) : undefined;
  }

  async entry(e: TarEntry): Promise<void> {
    this.entries++;
    const h = e.header;
    const name = h.name;
    const pax = this.paxOf(e);
    if (name.includes('\0') || (h.linkname ?? '').includes('\0')) throw this.hostile(name, 'NUL byte in a name');
    let parts: string[];
    try {
      parts = cleanRelative(name);
    } catch (err) {
      if (err instanceof PathEscapeError) throw this.hostile(name, err.why);
      throw err;
    }
    if (parts.length === 0) {
      // "." or "/": the destination itself. Like Docker, leave its metadata alone.
      if (h.type !== 'directory') throw this.hostile(name, 'a non-directory entry names the destination itself');
      e.resume();
      return;
    }
    const base = parts[parts.length - 1]!;
    if (this.opts.whiteouts !== 'none' && parts.some((c, i) => i < parts.length - 1 && isWhiteoutMeta(c))) {
      e.resume(); // inside AUFS metadata (.wh..wh.plnk/...): not content
      return;
    }
    if (this.opts.whiteouts !== 'none' && hasWhiteoutPrefix(base)) {
      e.resume();
      await this.whiteout(name, parts, base, h, pax);
      return;
    }
    if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size') || pax.has('GNU.sparse.map')) {
      throw this.hostile(name, 'GNU sparse files are not supported');
    }

    switch (h.type) {
      case 'file':
      case 'contiguous-file':
        await this.file(e, name, parts, pax);
        return;
      case 'directory': {
        e.resume();
        const host = await this.target(name, parts);
        const { uid, gid } = this.owner(h, pax);
        const mode = (h.mode ?? 0o755) & 0o7777;
        // as for files: a new directory is already ours (under one without setgid), and has the mode when
        // the umask keeps all of it; W1 has 1,111 directories, and each call dirties an inode
        const owned = uid === this.euid && gid === this.egid && this.plainDirs.has(this.targetDir);
        const exact = owned && (mode & 0o7000) === 0 && (mode & ~this.umask) === mode;
        const made = this.create(host, true, () => fs.mkdirSync(B(host), exact ? mode : 0o700));
        if (!made || !owned) fs.lchownSync(B(host), uid, gid);
        if (!made || !exact) fs.chmodSync(B(host), mode);
        this.knownDirs.add(host);
        if (mode & S_ISGID) this.plainDirs.delete(host);
        else this.plainDirs.add(host);
        this.written?.add(host);
        this.dirTimes.set(host, this.times(h, pax));
        this.addXattrs(host, pax);
        return;
      }
      case 'symlink': {
        e.resume();
        const host = await this.target(name, parts);
        this.create(host, false, () => fs.symlinkSync(B(h.linkname ?? ''), B(host)));
        const { uid, gid } = this.owner(h, pax);
        fs.lchownSync(B(host), uid, gid);
        const [atime, mtime] = this.times(h, pax);
        fs.lutimesSync(B(host), atime, mtime);
        this.written?.add(host);
        this.addXattrs(host, pax);
        return;
      }
      case 'link': {
        e.resume();
        await this.hardlink(name, parts, h.linkname ?? '');
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        e.resume();
        const host = await this.target(name, parts);
        this.prepare(host, false);
        const { uid, gid } = this.owner(h, pax);
        const kind = h.type === 'fifo' ? 'fifo' : h.type === 'block-device' ? 'block' : 'char';
        this.addPending(host, {
          node: { path: host, kind, major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode: (h.mode ?? 0o644) & 0o7777 },
          uid, gid, whiteout: false, times: this.times(h, pax),
        });
        this.written?.add(host);
        this.addXattrs(host, pax);
        return;
      }
      default:
        throw this.hostile(name, `unsupported entry type ${String(h.type)}`);
    }
  }

  /** Create every pending node, then set the xattrs, then the directory times. */
  async finish(): Promise<void> {
    await this.writer?.flush();
    await this.flushNodes();
    if (this.pendingXattrs.size > 0) {
      await setXattrsMany(this.pendingXattrs, { encoding: 'latin1' });
      this.pendingXattrs.clear();
    }
    for (const [dir, [atime, mtime]] of this.dirTimes) {
      try {
        fs.lutimesSync(B(dir), atime, mtime);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.dirTimes.clear();
  }

  // --- entry kinds ---

  private async file(e: TarEntry, name: string, parts: string[], pax: PaxRecords): Promise<void> {
    const h = e.header;
    const host = await this.target(name, parts);
    const c = fs.constants;
    const mode = (h.mode ?? 0o644) & 0o7777;
    const { uid, gid } = this.owner(h, pax);
    // 20,000 small files make syscalls the cost: a new file is already ours (when its directory is not setgid)
    // and, if the umask keeps every bit of an ordinary mode, already has that mode
    const owned = uid === this.euid && gid === this.egid && this.plainDirs.has(this.targetDir);
    const exact = owned && (mode & 0o7000) === 0 && (mode & ~this.umask) === mode;
    // small files go to the writer thread whole; a large one is streamed from here, its writes on the thread
    // pool (measured on W2's three 200 MiB files: handing it to the writer thread in pieces cost a copy and
    // was slower)
    if (this.writer && !this.touched.has(host) && (h.size ?? 0) <= WRITER_WHOLE_FILE) {
      const [atime, mtime] = this.times(h, pax);
      const meta = { openMode: exact ? mode : 0o600, mode, chmod: !exact, uid, gid, chown: !owned, atime, mtime };
      this.touched.add(host);
      this.bytes += await this.writer.add(host, h.size ?? 0, meta, e.bodySync() ?? e);
      this.written?.add(host);
      this.addXattrs(host, pax);
      return;
    }
    let fd = -1;
    const flags = c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW;
    // a large file is written past the page cache (direct-file.ts)
    let direct = (h.size ?? 0) >= DIRECT_FROM && this.directOk;
    this.create(host, false, () => {
      if (direct) {
        try {
          fd = fs.openSync(B(host), flags | O_DIRECT, exact ? mode : 0o600);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
          // the file system refuses O_DIRECT, after the file was made (O_EXCL: it is ours to remove)
          fs.rmSync(B(host), { force: true });
          this.directOk = false;
          direct = false;
        }
      }
      fd = fs.openSync(B(host), flags, exact ? mode : 0o600);
    });
    try {
      const write = (chunk: Buffer) => {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off);
        this.bytes += chunk.length;
      };
      const body = e.bodySync();
      if (body && !direct) body.forEach(write);
      else {
        // a large file: written on the thread pool (past the page cache when direct) while the next chunks
        // are gunzipped, hashed and parsed (W2's three 200 MiB files: the main thread spent 2.9 s of a 6.6 s
        // pull in writeSync)
        const out = direct ? new DirectFile(fd) : new StreamFile(fd);
        try {
          for await (const chunk of body ?? e) {
            await out.write(chunk);
            this.bytes += chunk.length;
          }
          await out.end();
        } catch (err) {
          // nothing may still be writing to fd when it is closed (its number could be reused at once)
          await out.abandon();
          throw err;
        }
      }
      if (!owned) fs.fchownSync(fd, uid, gid);
      if (!exact) fs.fchmodSync(fd, mode);
      const [atime, mtime] = this.times(h, pax);
      fs.futimesSync(fd, atime, mtime);
    } finally {
      fs.closeSync(fd);
    }
    this.written?.add(host);
    this.addXattrs(host, pax);
  }

  private async hardlink(name: string, parts: string[], linkname: string): Promise<void> {
    if (linkname.startsWith('/')) throw this.hostile(name, `hardlink target "${fromByteString(linkname)}" is an absolute path`);
    let lparts: string[];
    try {
      lparts = cleanRelative(linkname);
    } catch (err) {
      if (err instanceof PathEscapeError) throw this.hostile(name, `hardlink target "${fromByteString(linkname)}" is outside the destination`);
      throw err;
    }
    if (lparts.length === 0) throw this.hostile(name, 'hardlink to the destination directory');
    const target = this.resolve(name, lparts, `hardlink target "${fromByteString(linkname)}": `);
    await this.settle(target);
    const st = lstatOrUndefined(target);
    if (!st) throw new HodError('EUNPACK', `archive entry "${fromByteString(name)}": hardlink target "${fromByteString(linkname)}" does not exist`);
    if (st.isDirectory()) throw this.hostile(name, `hardlink to directory "${fromByteString(linkname)}"`);
    const host = await this.target(name, parts);
    if (host === target) return; // a link to itself: nothing to do
    this.create(host, false, () => fs.linkSync(B(target), B(host)));
    this.written?.add(host);
  }

  private async whiteout(name: string, parts: string[], base: string, h: TarHeader, pax: PaxRecords): Promise<void> {
    const dirParts = parts.slice(0, -1);
    if (isOpaqueMarker(base)) {
      // resolve the marker's own path, so that a symlink in place of its directory is followed (and checked)
      const dir = dirname(this.resolve(name, parts));
      await this.settle(dir);
      if (this.opts.whiteouts === 'overlay') {
        this.ensureDir(dir, name);
        const attrs = this.pendingXattrs.get(dir) ?? {};
        attrs[inUserNamespace() ? OVERLAY_USER_OPAQUE_XATTR : OVERLAY_OPAQUE_XATTR] = Buffer.from(OVERLAY_OPAQUE_VALUE);
        this.pendingXattrs.set(dir, attrs);
      } else {
        const st = lstatOrUndefined(dir);
        if (st?.isDirectory()) this.emptyOpaque(dir);
      }
      return;
    }
    if (isWhiteoutMeta(base)) return; // AUFS metadata (.wh..wh.plnk etc.): not content
    const target = whiteoutTarget(base)!;
    if (!isValidWhiteoutTarget(target)) throw this.hostile(name, `invalid whiteout target "${fromByteString(target)}"`);
    const host = this.resolve(name, [...dirParts, target]);
    await this.settle(host);
    if (this.opts.whiteouts === 'overlay') {
      this.ensureDir(dirname(host), name);
      // A whiteout only hides lower layers; an entry of this very layer at that path wins.
      if (this.pendingNodes.has(host) || lstatOrUndefined(host)) return;
      const { uid, gid } = this.owner(h, pax);
      this.addPending(host, { node: { path: host, kind: 'char', major: 0, minor: 0, mode: 0 }, uid, gid, whiteout: true });
      return;
    }
    if (this.written!.has(host)) return; // written by this archive: not the lower layers' to hide
    const st = lstatOrUndefined(host);
    if (st) this.remove(host, st);
  }

  /** 'apply' mode opaque directory: remove what lower layers put under `dir`, keeping what this archive wrote. */
  private emptyOpaque(dir: string): void {
    for (const d of fs.readdirSync(B(dir), { withFileTypes: true, encoding: 'latin1' }) as unknown as fs.Dirent[]) {
      const child = (dir === '/' ? '' : dir) + '/' + d.name;
      if (this.written!.has(child)) {
        if (d.isDirectory()) this.emptyOpaque(child);
        continue;
      }
      const st = lstatOrUndefined(child);
      if (st) this.remove(child, st);
    }
  }

  // --- paths ---

  /** Resolve the entry's path safely, create its parent directories, and settle pending nodes in its way. */
  private async target(name: string, parts: string[]): Promise<string> {
    // one string for the parent, built and hashed once: each new string looked up in a set is hashed again,
    // and a W1 pull did that five times an entry
    const parent = parentPath(this.root, parts);
    const known = this.knownDirs.has(parent);
    // a walk through directories not known yet must see the queued files as they will be
    if (this.writer?.busy && !known) await this.writer.flush();
    const host = known ? `${parent}/${parts[parts.length - 1]}` : this.resolve(name, parts);
    // something is there, or will be: let the writer finish before it is replaced or looked at
    if (this.writer?.busy && this.touched.has(host)) await this.writer.flush();
    await this.settle(host);
    this.targetDir = known ? parent : dirname(host);
    this.ensureDir(this.targetDir, name);
    return host;
  }

  private resolve(name: string, parts: string[], what = ''): string {
    // the parent is a directory this unpack made or checked (and nothing has been removed since): only the
    // last component, which is not followed, is left, so the walk safeJoin would do finds nothing new
    const parent = parentPath(this.root, parts);
    if (this.knownDirs.has(parent)) return `${parent}/${parts[parts.length - 1]}`;
    try {
      return safeJoin(this.root, parts.join('/'), { escapes: 'refuse', encoding: 'latin1', knownDirs: this.knownDirs });
    } catch (err) {
      if (err instanceof PathEscapeError) throw this.hostile(name, what + err.why);
      if (err instanceof HodError && err.code === 'ELOOP') throw this.hostile(name, what + err.message);
      throw err;
    }
  }

  /** Make sure `dir` (a resolved host path under root) is a directory, creating missing ones (0755). */
  private ensureDir(dir: string, name: string): void {
    if (this.knownDirs.has(dir)) return;
    if (dir.length <= this.root.length) throw this.hostile(name, 'resolves outside the destination');
    this.ensureDir(dirname(dir), name);
    const st = lstatOrUndefined(dir);
    if (!st) {
      fs.mkdirSync(B(dir), 0o700);
      const { uid, gid } = this.opts.ownership ?? { uid: 0, gid: 0 };
      fs.lchownSync(B(dir), uid, gid);
      fs.chmodSync(B(dir), 0o755);
      if (this.opts.mtimeOverride !== undefined) this.dirTimes.set(dir, [this.opts.mtimeOverride, this.opts.mtimeOverride]);
    } else if (!st.isDirectory()) {
      throw new HodError('EUNPACK', `archive entry "${fromByteString(name)}": "${fromByteString(dir.slice(this.root.length + 1))}" exists and is not a directory`);
    }
    this.knownDirs.add(dir);
    this.writer && this.touched.add(dir);
    if (!st || !(st.mode & S_ISGID)) this.plainDirs.add(dir);
    this.written?.add(dir);
  }

  /**
   * Create the entry at `host` with `make`, which must fail with EEXIST if something is there. That something
   * is then removed and `make` tried again, except a directory when the entry is one too: it stays, keeps its
   * content and takes the new metadata. (Trying first saves an lstat per entry in the usual empty destination.)
   * Returns whether `make` made it, false for a directory that was there.
   */
  private create(host: string, isDir: boolean, make: () => void): boolean {
    this.writer && this.touched.add(host);
    try {
      make();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (this.prepare(host, isDir)) return false;
    make();
    return true;
  }

  /**
   * Clear the way for an entry at `host`: whatever is there goes, except a directory when the entry is one too
   * (it keeps its content and takes the new metadata; returns true then).
   */
  private prepare(host: string, isDir: boolean): boolean {
    const st = lstatOrUndefined(host);
    if (!st) return false;
    if (isDir && st.isDirectory()) return true;
    this.remove(host, st);
    return false;
  }

  private remove(host: string, st: fs.Stats): void {
    if (st.isDirectory()) {
      fs.rmSync(B(host), { recursive: true, force: true });
      this.knownDirs.clear();
      this.knownDirs.add(this.root);
      const rootPlain = this.plainDirs.has(this.root);
      this.plainDirs.clear();
      if (rootPlain) this.plainDirs.add(this.root);
      const under = host + '/';
      for (const m of [this.pendingXattrs, this.dirTimes] as Map<string, unknown>[]) {
        for (const k of m.keys()) if (k === host || k.startsWith(under)) m.delete(k);
      }
    } else {
      fs.unlinkSync(B(host));
      this.pendingXattrs.delete(host);
    }
  }

  // --- pending device nodes ---

  private addPending(host: string, p: PendingNode): void {
    this.writer && this.touched.add(host);
    this.pendingNodes.set(host, p);
    for (let d = dirname(host); d.length > this.root.length && !this.pendingDirs.has(d); d = dirname(d)) this.pendingDirs.add(d);
  }

  /** Create the pending nodes now if `host` is one of them, lies under one, or is a directory above one. */
  private async settle(host: string): Promise<void> {
    if (this.writer?.isPending(host)) await this.writer.flush();
    if (this.pendingNodes.size === 0) return;
    let hit = this.pendingDirs.has(host);
    for (let p = host; !hit && p.length > this.root.length; p = dirname(p)) hit = this.pendingNodes.has(p);
    if (hit) await this.flushNodes();
  }

  private async flushNodes(): Promise<void> {
    if (this.pendingNodes.size === 0) return;
    const nodes = [...this.pendingNodes.values()];
    this.pendingNodes.clear();
    this.pendingDirs.clear();
    await mknodMany(nodes.map((n) => n.node), { encoding: 'latin1' });
    for (const n of nodes) {
      const p = B(n.node.path);
      fs.lchownSync(p, n.uid, n.gid);
      if (!n.whiteout) fs.chmodSync(p, n.node.mode ?? 0o644); // chown may have cleared setuid/setgid
      if (n.times) fs.lutimesSync(p, n.times[0], n.times[1]);
    }
  }

  // --- metadata ---

  private paxOf(e: TarEntry): PaxRecords {
    const own = e.pax;
    if (this.globalPax.size === 0) return own ?? new Map();
    const merged = new Map(this.globalPax);
    if (own) for (const [k, v] of own) merged.set(k, v);
    return merged;
  }

  private owner(h: TarHeader, pax: PaxRecords): { uid: number; gid: number } {
    if (this.opts.ownership) return this.opts.ownership;
    return { uid: paxInt(pax, 'uid') ?? h.uid ?? 0, gid: paxInt(pax, 'gid') ?? h.gid ?? 0 };
  }

  /** [atime, mtime] in seconds. */
  private times(h: TarHeader, pax: PaxRecords): [number, number] {
    const o = this.opts.mtimeOverride;
    if (o !== undefined) return [o, o];
    const mtime = paxTime(pax, 'mtime') ?? (h.mtime ? h.mtime.getTime() / 1000 : 0);
    return [paxTime(pax, 'atime') ?? mtime, mtime];
  }

  private addXattrs(host: string, pax: PaxRecords): void {
    const attrs = xattrsOf(pax);
    if (!attrs) return;
    this.pendingXattrs.set(host, { ...this.pendingXattrs.get(host), ...attrs });
  }

  private hostile(name: string, why: string): HostileArchiveError {
    return new HostileArchiveError(fromByteString(name), why);
  }
}

/** The host path of the directory an entry (its cleaned components) lands in. */
function parentPath(root: string, parts: string[]): string {
  return parts.length > 1 ? `${root}/${parts.slice(0, -1).join('/')}` : root;
}

/** The process's umask, read by setting it and putting it back at once (reading alone is deprecated). */
function currentUmask(): number {
  try {
    const old = process.umask(0o022);
    process.umask(old);
    return old;
  } catch {
    return 0o777; // a worker thread may not change it: then assume nothing and chmod every file
  }
}

function paxInt(pax: PaxRecords, key: string): number | undefined {
  const v = pax.get(key);
  if (v === undefined) return undefined;
  const n = Number(v.toString('latin1'));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function paxTime(pax: PaxRecords, key: string): number | undefined {
  const v = pax.get(key);
  if (v === undefined) return undefined;
  const n = Number(v.toString('latin1'));
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The xattrs an entry carries: PAX "SCHILY.xattr.<name>" (GNU tar, Go's archive/tar) with raw values, or
 * libarchive's "LIBARCHIVE.xattr.<url-encoded name>" with base64 values. Names are byte strings. Overlayfs's own
 * attributes (trusted.overlay.*, user.overlay.*) are dropped: an archive must not forge overlay metadata.
 */
function xattrsOf(pax: PaxRecords): Xattrs | undefined {
  let out: Xattrs | undefined;
  for (const [k, v] of pax) {
    let name: string;
    let value: Buffer;
    if (k.startsWith('SCHILY.xattr.')) {
      name = k.slice('SCHILY.xattr.'.length);
      value = v;
    } else if (k.startsWith('LIBARCHIVE.xattr.')) {
      name = k.slice('LIBARCHIVE.xattr.'.length).replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      if (out && name in out) continue; // SCHILY wins
      value = Buffer.from(v.toString('latin1'), 'base64');
    } else continue;
    if (name === '' || name.startsWith(OVERLAY_XATTR_PREFIX) || name.startsWith('user.overlay.') || name.startsWith('user.fuseoverlayfs.')) continue;
    (out ??= {})[name] = value;
  }
  return out;
}
