/**
 * Random access to the members of a tar file (oci-archive, docker-archive) without unpacking it: one pass
 * over the headers records where each member's bytes are, and blobs are then served as byte ranges. Member
 * names that leave the archive (absolute, or climbing with "..") are refused, as umoci refuses them.
 * Also the writing half: an archive built from TarEntry values lands on its path by rename.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable, pipeline as pipe } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError, HostileArchiveError, NotFoundError } from '../errors.js';
import { tarChunks, type TarEntry } from '../commit/tar-writer.js';
import { tmpName, fileWriteStream } from '../store/atomic.js';

export interface TarMember {
  name: string;
  type: 'file' | 'hardlink' | 'symlink' | 'dir' | 'other';
  /** Where the member's bytes start in the (uncompressed) tar file. */
  offset: number;
  size: number;
  linkname: string;
}

const BLOCK = 512;

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

/** Recognise a compressed stream by its first bytes. */
export function compressionOf(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

function cstring(b: Buffer, off: number, len: number): Buffer {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function numeric(b: Buffer, off: number, len: number): number {
  if (b[off] & 0x80) {
    // GNU base-256: big-endian, the first byte's top bit is the marker
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    return v;
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return numeric(h, 148, 8) === sum;
}

function paxRecords(buf: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    const len = sp < 0 ? NaN : parseInt(buf.toString('latin1', pos, sp), 10);
    if (!(len > 0) || pos + len > buf.length) break;
    const rec = buf.toString('utf8', sp + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** A member name made relative and clean; names that leave the archive throw HostileArchiveError. */
export function cleanMemberName(name: string): string {
  if (name.startsWith('/')) throw new HostileArchiveError(name, 'an absolute name in an image archive');
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new HostileArchiveError(name, 'a ".." name that leaves the image archive');
    parts.push(c);
  }
  return parts.join('/');
}

function readAt(fd: number, len: number, pos: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? b : b.subarray(0, got);
}

/** Every member of the tar at `file`, by clean name (a later member of the same name wins, as in tar). */
function scan(file: string): Map<string, TarMember> {
  const members = new Map<string, TarMember>();
  const fd = fs.openSync(file, 'r');
  try {
    const total = fs.fstatSync(fd).size;
    let pos = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    while (pos + BLOCK <= total) {
      const h = readAt(fd, BLOCK, pos);
      if (h.every((x) => x === 0)) break;
      if (!checksumOk(h)) throw new HodError('EARCHIVE', `${file}: not a tar archive (bad header checksum at offset ${pos})`);
      const flag = String.fromCharCode(h[156] || 0x30);
      let size = numeric(h, 124, 12);
      if (pax.has('size')) size = Number(pax.get('size'));
      const offset = pos + BLOCK;
      if (offset + size > total) throw new HodError('EARCHIVE', `${file}: truncated: member at offset ${pos} needs ${size} bytes, the file ends first`);
      pos = offset + Math.ceil(size / BLOCK) * BLOCK;
      if (flag === 'x' || flag === 'L' || flag === 'K') {
        const data = readAt(fd, size, offset);
        if (flag === 'x') pax = paxRecords(data);
        else if (flag === 'L') longName = cstring(data, 0, data.length).toString('utf8');
        else longLink = cstring(data, 0, data.length).toString('utf8');
        continue;
      }
      if (flag === 'g') continue;
      let name = cstring(h, 0, 100).toString('utf8');
      // POSIX ustar ("ustar\0") has a prefix field; GNU's "ustar  \0" uses those bytes for other things
      if (h.toString('latin1', 257, 263) === 'ustar\0') {
        const prefix = cstring(h, 345, 155).toString('utf8');
        if (prefix) name = `${prefix}/${name}`;
      }
      name = pax.get('path') ?? longName ?? name;
      const linkname = pax.get('linkpath') ?? longLink ?? cstring(h, 157, 100).toString('utf8');
      pax = new Map();
      longName = longLink = undefined;
      const type = flag === '0' || flag === '7' ? 'file' : flag === '1' ? 'hardlink' : flag === '2' ? 'symlink' : flag === '5' ? 'dir' : 'other';
      const clean = cleanMemberName(name);
      if (clean === '') continue;
      members.set(clean, { name: clean, type, offset, size: type === 'file' ? size : 0, linkname });
    }
  } finally {
    fs.closeSync(fd);
  }
  return members;
}

/** A gunzipped view of `raw`; an error on either side ends both. */
export function gunzipped(raw: Readable): Readable {
  return pipe(raw, zlib.createGunzip(), () => {});
}

/**
 * A pipeline stage that gunzips gzip data and passes plain data through, told apart by magic bytes (as
 * containers/image's AutoDecompress); other compressions are refused, naming `what`.
 */
export function decompressed(what: string) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const it = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    for (let n = 0; n < 6; ) {
      const r = await it.next();
      if (r.done) break;
      head.push(r.value);
      n += r.value.length;
    }
    const all = async function* () {
      yield* head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    };
    const kind = compressionOf(Buffer.concat(head));
    if (kind === 'none') return yield* all();
    if (kind !== 'gzip') throw new HodError('EFORMAT', `${what} is ${kind}-compressed: hod reads plain and gzip-compressed data`);
    yield* gunzipped(Readable.from(all()));
  };
}

/** An opened tar archive; a compressed one, or a pipe, is first copied plain into a temporary file. */
export class TarFile {
  private constructor(readonly file: string, readonly members: Map<string, TarMember>, private readonly temp?: string) {}

  static async open(file: string): Promise<TarFile> {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) throw new NotFoundError('archive', file);
    if (st.isFile()) {
      const fd = fs.openSync(file, 'r');
      let head: Buffer;
      try {
        head = readAt(fd, 6, 0);
      } finally {
        fs.closeSync(fd);
      }
      if (compressionOf(head) === 'none') return new TarFile(file, scan(file));
    }
    // ranges need a seekable plain tar, as containers/image also makes one
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-archive-'));
    const plain = path.join(dir, 'archive.tar');
    try {
      await pipeline(fs.createReadStream(file), decompressed(`the archive ${file}`), fileWriteStream(plain));
      return new TarFile(plain, scan(plain), dir);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A regular member by name, following one symlink or hard link as containers/image does. */
  find(name: string): TarMember | undefined {
    const clean = cleanMemberName(name);
    let m = this.members.get(clean);
    if (m?.type === 'symlink') m = this.members.get(cleanMemberName(path.posix.join(path.posix.dirname(clean), m.linkname)));
    else if (m?.type === 'hardlink') m = this.members.get(cleanMemberName(m.linkname));
    return m?.type === 'file' ? m : undefined;
  }

  /** A member's bytes, or its first `len` bytes. */
  read(m: TarMember, len = m.size): Buffer {
    const fd = fs.openSync(this.file, 'r');
    try {
      return readAt(fd, Math.min(len, m.size), m.offset);
    } finally {
      fs.closeSync(fd);
    }
  }

  stream(m: TarMember): Readable {
    if (m.size === 0) return Readable.from([]);
    return fs.createReadStream(this.file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
  }

  close(): void {
    if (this.temp) fs.rmSync(this.temp, { recursive: true, force: true });
  }
}

/** Write `entries` as a tar at `target`: into a temporary file beside it, fsync, rename. */
export async function writeTarFile(target: string, entries: Iterable<TarEntry>): Promise<void> {
  const tmp = tmpName(path.dirname(target), `.${path.basename(target)}.hod`);
  try {
    await pipeline(Readable.from(tarChunks(entries)), fileWriteStream(tmp));
    const fd = fs.openSync(tmp, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
