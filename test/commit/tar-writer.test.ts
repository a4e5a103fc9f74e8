import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import tar from 'tar-stream';
import { tarChunks, tarBuffer, type TarEntry } from '../../lib/commit/tar-writer.js';
import { HodError } from '../../lib/errors.js';

export interface Extracted {
  header: tar.Header & { pax?: Record<string, string> | null };
  data: Buffer;
}

/** Read a tar with tar-stream. */
export async function extractAll(buf: Buffer): Promise<Extracted[]> {
  const ex = tar.extract();
  const out: Extracted[] = [];
  ex.end(buf);
  for await (const entry of ex) {
    const parts: Buffer[] = [];
    for await (const d of entry) parts.push(d as Buffer);
    out.push({ header: entry.header as Extracted['header'], data: Buffer.concat(parts) });
  }
  return out;
}

/** Raw PAX records of the 'x' header before the entry named `name` (tar-stream decodes values as UTF-8). */
export function rawPax(buf: Buffer, name: string): Map<string, Buffer> {
  let off = 0;
  let pending: Map<string, Buffer> | null = null;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156]);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pending = new Map();
      let b = body;
      while (b.length > 0) {
        const sp = b.indexOf(0x20);
        const len = parseInt(b.toString('latin1', 0, sp), 10);
        const rec = b.subarray(sp + 1, len - 1);
        const eq = rec.indexOf(0x3d);
        pending.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
        b = b.subarray(len);
      }
      continue;
    }
    const prefix = h.toString('latin1', 345, 500).replace(/\0.*$/s, '');
    let n = h.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    if (prefix) n = `${prefix}/${n}`;
    const p = pending?.get('path');
    if (p) n = p.toString('utf8');
    if (n === name || n === `${name}/`) return pending ?? new Map();
    pending = null;
  }
  throw new Error(`entry ${name} not found`);
}

describe('commit/tar-writer', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-tarw-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const MTIME = 1700000000;
  const cap = Buffer.from('0100000200040000000000000000000000000000', 'hex'); // cap_net_bind_service+ep
  const binXattr = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x3d, 0x20, 0xc3, 0x28]);
  const longDirPath = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(50)}/${'g'.repeat(27)}.txt`; // 200 chars
  const longNamePath = `x/${'n'.repeat(198)}`; // 200 chars, last component too long for ustar name
  const longTarget = `/usr/lib/${'t'.repeat(300)}`;

  function fixture(): TarEntry[] {
    const src = path.join(tmp, 'src.bin');
    fs.writeFileSync(src, crypto.randomBytes(70000));
    const base = { uid: 0, gid: 0, mtime: MTIME };
    return [
      { ...base, path: 'a', type: 'dir', mode: 0o755 },
      { ...base, path: 'a/hello.txt', type: 'file', mode: 0o4755, uid: 1000, gid: 1001, content: Buffer.from('hello\n') },
      { ...base, path: 'a/src.bin', type: 'file', mode: 0o644, size: 70000, source: src, mtime: MTIME + 5 },
      { ...base, path: 'a/empty', type: 'file', mode: 0o600, content: Buffer.alloc(0) },
      { ...base, path: 'a/link', type: 'symlink', mode: 0o777, linkname: 'hello.txt' },
      { ...base, path: 'a/hard', type: 'hardlink', mode: 0o4755, linkname: 'a/hello.txt' },
      { ...base, path: 'a/sticky', type: 'dir', mode: 0o1777 },
      { ...base, path: 'a/sgid', type: 'dir', mode: 0o2755 },
      { ...base, path: longDirPath, type: 'file', mode: 0o644, content: Buffer.from('long') },
      { ...base, path: longNamePath, type: 'file', mode: 0o644, content: Buffer.from('longname') },
      { ...base, path: 'a/longlink', type: 'symlink', mode: 0o777, linkname: longTarget },
      {
        ...base,
        path: 'bin/ping',
        type: 'file',
        mode: 0o755,
        content: Buffer.from('#!/bin/true\n'),
        xattrs: { 'security.capability': cap, 'user.bin': binXattr },
      },
      { ...base, path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
      { ...base, path: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 },
      { ...base, path: 'dev/fifo', type: 'fifo', mode: 0o644 },
      { ...base, path: 'home/big', type: 'dir', mode: 0o700, uid: 3000000, gid: 3000001 },
      { ...base, path: 'etc/.wh.passwd', type: 'file', mode: 0o644, content: Buffer.alloc(0) },
      { ...base, path: 'opt/.wh..wh..opq', type: 'file', mode: 0o644, content: Buffer.alloc(0) },
      { ...base, path: 'utf/grüße.txt', type: 'file', mode: 0o644, content: Buffer.from('ü') },
    ];
  }

  it('round-trips through tar-stream', async () => {
    const entries = fixture();
    const buf = tarBuffer(entries);
    expect(buf.length % 512).to.equal(0);
    expect(buf.subarray(buf.length - 1024).every((b) => b === 0)).to.equal(true);
    const got = await extractAll(buf);
    const byName = new Map(got.map((g) => [g.header.name.replace(/\/$/, ''), g]));
    expect(got.length).to.equal(entries.length);

    const typeMap: Record<TarEntry['type'], string> = {
      file: 'file', dir: 'directory', symlink: 'symlink', hardlink: 'link',
      char: 'character-device', block: 'block-device', fifo: 'fifo',
    };
    for (const e of entries) {
      const g = byName.get(e.path);
      expect(g, e.path).to.not.equal(undefined);
      const h = g!.header;
      expect(h.type, e.path).to.equal(typeMap[e.type]);
      expect(h.mode, e.path).to.equal(e.mode);
      if (e.uid <= 0o7777777) expect(h.uid, e.path).to.equal(e.uid);
      if (e.gid <= 0o7777777) expect(h.gid, e.path).to.equal(e.gid);
      expect(h.mtime!.getTime(), e.path).to.equal(e.mtime * 1000);
      if (e.linkname) expect(h.linkname, e.path).to.equal(e.linkname);
      if (e.type === 'file') {
        const want = e.content ?? fs.readFileSync(e.source!);
        expect(g!.data.equals(want), e.path).to.equal(true);
        expect(h.size, e.path).to.equal(want.length);
      } else {
        expect(g!.data.length, e.path).to.equal(0);
      }
    }
    expect(byName.get('dev/null')!.header.devmajor).to.equal(1);
    expect(byName.get('dev/null')!.header.devminor).to.equal(3);
    expect(byName.get('dev/sda')!.header.devmajor).to.equal(8);
    // the directory's raw name carries the trailing slash
    expect(got.find((g) => g.header.name.startsWith('a') && g.header.type === 'directory')!.header.name).to.equal('a/');
    // big uid/gid travel as PAX records
    const big = byName.get('home/big')!.header;
    expect(big.pax).to.include({ uid: '3000000', gid: '3000001' });
    // xattrs as SCHILY.xattr (the capability bytes are < 0x80, so tar-stream's UTF-8 decoding keeps them)
    const ping = byName.get('bin/ping')!.header;
    expect(Buffer.from(ping.pax!['SCHILY.xattr.security.capability'], 'latin1').equals(cap)).to.equal(true);
    // and exactly, binary bytes included, from the raw records
    const pax = rawPax(buf, 'bin/ping');
    expect(pax.get('SCHILY.xattr.security.capability')!.equals(cap)).to.equal(true);
    expect(pax.get('SCHILY.xattr.user.bin')!.equals(binXattr)).to.equal(true);
    // long names: one split into ustar prefix/name, the other in PAX
    expect(rawPax(buf, longDirPath).size).to.equal(0);
    expect(rawPax(buf, longNamePath).get('path')!.toString()).to.equal(longNamePath);
    expect(rawPax(buf, 'a/longlink').get('linkpath')!.toString()).to.equal(longTarget);
    expect(rawPax(buf, 'utf/grüße.txt').get('path')!.toString()).to.equal('utf/grüße.txt');
  });

  it('writes ustar headers like Go archive/tar', () => {
    const buf = tarBuffer([
      { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: MTIME },
      { path: 'etc/hosts', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: MTIME, content: Buffer.from('x') },
    ]);
    const h = buf.subarray(0, 512);
    expect(h.toString('latin1', 0, 4)).to.equal('etc/');
    expect(h.toString('latin1', 257, 265)).to.equal('ustar\u000000');
    expect(h.toString('latin1', 100, 108)).to.equal('0000755\0');
    expect(h.toString('latin1', 136, 148)).to.equal(`${MTIME.toString(8).padStart(11, '0')}\0`);
    expect(h.subarray(265, 329).every((b) => b === 0)).to.equal(true); // uname/gname empty
    expect(String.fromCharCode(h[156])).to.equal('5');
    let sum = 8 * 32;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += h[i];
    expect(h.toString('latin1', 148, 156)).to.equal(`${sum.toString(8).padStart(6, '0')}\0 `);
    expect(buf.length).to.equal(512 + 512 + 512 + 1024);
  });

  it('is accepted by tar(1)', function () {
    const buf = tarBuffer(fixture());
    const file = path.join(tmp, 'fixture.tar');
    fs.writeFileSync(file, buf);
    const r = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(r.error, 'tar(1) runs').to.equal(undefined);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.include('a/hello.txt');
    expect(r.stdout).to.include(longNamePath);
    expect(r.stdout).to.include(`a/longlink -> ${longTarget}`);
  });

  it('yields fixed-size chunks and reads big files in pieces', async () => {
    const src = path.join(tmp, 'big.bin');
    const data = crypto.randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(src, data);
    const chunks = [...tarChunks([{ path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: MTIME, size: data.length, source: src }], 64 * 1024)];
    for (const c of chunks.slice(0, -1)) expect(c.length).to.equal(64 * 1024);
    const all = Buffer.concat(chunks);
    expect(all.length).to.equal(512 + Math.ceil(data.length / 512) * 512 + 1024);
    const got = await extractAll(all);
    expect(got[0].data.equals(data)).to.equal(true);
    // every chunk owns its memory
    expect(new Set(chunks.map((c) => c.buffer)).size).to.equal(chunks.length);
  });

  it('handles files that changed size since they were stat-ed', async () => {
    const src = path.join(tmp, 'changing.txt');
    fs.writeFileSync(src, 'x'.repeat(100));
    const base = { path: 'f', type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: MTIME, source: src };
    // shrunk: an error by default
    expect(() => tarBuffer([{ ...base, size: 5000 }])).to.throw(HodError).with.property('code', 'EFILECHANGED');
    // shrunk, padding asked for: zero-filled to the header's size
    const padded = await extractAll(tarBuffer([{ ...base, size: 5000, onShrink: 'pad' }]));
    expect(padded[0].data.length).to.equal(5000);
    expect(padded[0].data.subarray(0, 100).toString()).to.equal('x'.repeat(100));
    expect(padded[0].data.subarray(100).every((b) => b === 0)).to.equal(true);
    // grown: truncated to the header's size, the stream stays valid
    const grown = await extractAll(tarBuffer([{ ...base, size: 10 }, { ...base, path: 'g', size: 100 }]));
    expect(grown.map((g) => g.data.toString())).to.deep.equal(['x'.repeat(10), 'x'.repeat(100)]);
  });

  it('rejects bad entries with HodError', () => {
    const base = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: MTIME, content: Buffer.alloc(0) };
    expect(() => tarBuffer([{ ...base, path: '/abs' }])).to.throw(HodError);
    expect(() => tarBuffer([{ ...base, path: '' }])).to.throw(HodError);
    expect(() => tarBuffer([{ ...base, path: 'l', type: 'symlink' }])).to.throw(HodError);
    expect(() => tarBuffer([{ ...base, path: 'x', uid: -1 }])).to.throw(HodError);
    expect(() => tarBuffer([{ ...base, path: 'x', source: path.join(tmp, 'missing'), content: undefined, size: 3 }]))
      .to.throw(HodError).with.property('code', 'ESYSTEM');
  });

  it('is deterministic (golden diff id)', () => {
    const entries: TarEntry[] = [
      { path: 'bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1704067200 },
      { path: 'bin/sh', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1704067200, content: Buffer.from('#!sh\n') },
      { path: 'bin/ash', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1704067200, linkname: 'sh' },
    ];
    const a = tarBuffer(entries);
    const b = Buffer.concat([...tarChunks(entries, 512)]);
    expect(a.equals(b)).to.equal(true);
    expect(crypto.createHash('sha256').update(a).digest('hex')).to.equal(GOLDEN_SMALL_TAR);
  });
});

// sha256 of the tar above, pinned so that format changes are deliberate
const GOLDEN_SMALL_TAR = '7537b97ba1487a09b2761f9012fa255fcb223115c591070740e0663e0fab9cc7';
