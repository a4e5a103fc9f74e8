import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { pgzip, pgzipBuffer, looksIncompressible, deflateBlock, gzipLevel } from '../../lib/commit/pgzip.js';

const BS = 64 * 1024; // small blocks keep the tests fast and still give many blocks

/** Deterministic mixed test data: text, random runs, zeros, a counting pattern. */
function mixed(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  let i = seed;
  const words = ['layer ', 'digest ', 'blob ', 'manifest\n', 'config ', 'tar ', 'gzip ', '{ "a": 1 }\n'];
  while (off < size) {
    const kind = i % 4;
    const n = Math.min(size - off, 5000 + ((i * 7919) % 90000));
    if (kind === 0) {
      let s = '';
      for (let k = 0; s.length < n; k++) s += words[(k * 31 + i) % words.length];
      out.write(s.slice(0, n), off, 'latin1');
    } else if (kind === 1) {
      crypto.createHash('sha256'); // keep deterministic: derive bytes from a seeded hash chain
      let h = Buffer.from(String(i));
      for (let k = 0; k < n; k += 32) {
        h = crypto.createHash('sha256').update(h).digest();
        h.copy(out, off + k, 0, Math.min(32, n - k));
      }
    } else if (kind === 3) {
      for (let k = 0; k < n; k++) out[off + k] = k & 0xff;
    } // kind 2: zeros
    off += n;
    i++;
  }
  return out;
}

async function gz(data: Buffer, workers: number, chunks?: number[]): Promise<Buffer> {
  if (!chunks) return pgzipBuffer(data, { workers, blockSize: BS, level: 6 });
  const parts: Buffer[] = [];
  let off = 0;
  const pieces: Buffer[] = [];
  for (let k = 0; off < data.length; k++) {
    const n = chunks[k % chunks.length];
    pieces.push(data.subarray(off, off + n));
    off += n;
  }
  for await (const b of pgzip(pieces, { workers, blockSize: BS, level: 6 })) parts.push(b);
  return Buffer.concat(parts);
}

describe('commit/pgzip', () => {
  it('exports a default level', () => {
    expect(gzipLevel).to.be.within(1, 9);
  });

  it('decompresses with zlib and keeps header/trailer reproducible', async () => {
    for (const size of [0, 1, 1000, BS - 1, BS, BS + 1, 5 * BS + 12345]) {
      const data = mixed(size, size);
      const out = await gz(data, 2);
      expect(zlib.gunzipSync(out).equals(data), `size ${size}`).to.equal(true);
      expect([...out.subarray(0, 4)]).to.deep.equal([0x1f, 0x8b, 8, 0]);
      expect(out.readUInt32LE(4)).to.equal(0); // mtime 0
      expect(out.readUInt32LE(out.length - 8)).to.equal(zlib.crc32(data) >>> 0);
      expect(out.readUInt32LE(out.length - 4)).to.equal(size);
    }
  });

  it('decompresses with gunzip(1)', async function () {
    const data = mixed(7 * BS + 99, 7);
    const out = await gz(data, 2);
    const r = spawnSync('gzip', ['-dc'], { input: out, maxBuffer: 64 << 20 });
    expect(r.error, 'gzip(1) runs').to.equal(undefined);
    expect(r.status, r.stderr?.toString()).to.equal(0);
    expect(r.stdout.equals(data)).to.equal(true);
  });

  it('gives identical bytes whatever the number of workers and the input chunking', async () => {
    const data = mixed(20 * BS + 777, 3);
    const ref = await gz(data, 0);
    for (const w of [1, 2, 4]) expect((await gz(data, w)).equals(ref), `workers ${w}`).to.equal(true);
    expect((await gz(data, 2, [1, 7000, BS, 3 * BS + 5])).equals(ref)).to.equal(true);
    // zero-copy path: block-sized chunks that own their memory, given away
    const owned: Buffer[] = [];
    for (let off = 0; off < data.length; off += BS) {
      const b = Buffer.allocUnsafeSlow(Math.min(BS, data.length - off));
      data.copy(b, 0, off, off + b.length);
      owned.push(b);
    }
    const parts: Buffer[] = [];
    for await (const b of pgzip(owned, { workers: 2, blockSize: BS, level: 6, transfer: true })) parts.push(b);
    expect(Buffer.concat(parts).equals(ref)).to.equal(true);
  });

  it('stores incompressible data and compresses patterns', () => {
    expect(looksIncompressible(crypto.randomBytes(BS))).to.equal(true);
    const counting = Buffer.alloc(BS);
    for (let i = 0; i < BS; i++) counting[i] = i & 0xff;
    expect(looksIncompressible(counting)).to.equal(false);
    expect(looksIncompressible(Buffer.alloc(BS, 'text text text '))).to.equal(false);
    const rnd = crypto.randomBytes(4 * BS);
    const block = deflateBlock(rnd, null, true, 6);
    expect(block.length).to.be.below(rnd.length + 100);
    expect(zlib.inflateRawSync(block).equals(rnd)).to.equal(true);
  });

  it('propagates errors from the source', async () => {
    async function* bad(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(3 * BS, 1);
      throw new Error('source broke');
    }
    let caught: unknown;
    try {
      for await (const b of pgzip(bad(), { workers: 2, blockSize: BS })) void b;
    } catch (err) {
      caught = err;
    }
    expect((caught as Error)?.message).to.equal('source broke');
  });

  it('does not keep the process alive', function () {
    const mod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/commit/pgzip.js');
    // a tiny input (one block: one worker stays unused) and a multi-block one
    for (const size of ['10', '4 << 20']) {
      const script = `import { pgzipBuffer } from ${JSON.stringify(mod)};
        const out = await pgzipBuffer(Buffer.alloc(${size}, 'abc'), { workers: 2 });
        process.stdout.write(String(out.length));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 });
      expect(r.error, `child timed out (${size})`).to.equal(undefined);
      expect(r.status, r.stderr).to.equal(0);
      expect(Number(r.stdout)).to.be.above(0);
    }
  });

  it('handles a big stream in bounded memory', async () => {
    // 64 MiB through the default 1 MiB blocks; mostly a smoke test of the window logic
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-pgzip-'));
    try {
      const chunk = mixed(1 << 20, 11);
      function* src(): Generator<Buffer> {
        for (let i = 0; i < 64; i++) yield chunk;
      }
      const parts: Buffer[] = [];
      for await (const b of pgzip(src(), { workers: 2 })) parts.push(b);
      const out = zlib.gunzipSync(Buffer.concat(parts));
      expect(out.length).to.equal(64 << 20);
      expect(out.subarray(63 << 20).equals(chunk)).to.equal(true);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
