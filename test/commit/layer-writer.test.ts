import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { expect } from 'chai';
import { writeLayer } from '../../lib/commit/layer-writer.js';
import type { TarEntry } from '../../lib/commit/tar-writer.js';
import { extractAll } from './tar-writer.test.js';

const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

describe('commit/layer-writer', () => {
  let tmp: string;
  let tree: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-layerw-'));
    tree = path.join(tmp, 'tree');
    // a small tree: text files, random files, one file bigger than a 1 MiB block
    let seed = Buffer.from('hod');
    for (let d = 0; d < 4; d++) {
      fs.mkdirSync(path.join(tree, `d${d}`), { recursive: true });
      for (let f = 0; f < 25; f++) {
        const p = path.join(tree, `d${d}`, `f${f}`);
        if (f % 3 === 0) {
          seed = crypto.createHash('sha256').update(seed).digest();
          fs.writeFileSync(p, Buffer.concat(Array.from({ length: 64 }, (_, i) => crypto.createHash('sha256').update(seed).update(String(i)).digest())));
        } else {
          fs.writeFileSync(p, `file ${d}/${f}\n`.repeat(50 + f * 20));
        }
      }
    }
    fs.writeFileSync(path.join(tree, 'big.txt'), Buffer.alloc(2.5 * 1024 * 1024, 'the quick brown fox jumps\n'));
    fs.symlinkSync('d0/f1', path.join(tree, 'link'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function* walk(abs = tree, rel = ''): Generator<TarEntry> {
    for (const name of fs.readdirSync(abs).sort()) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(a);
      const base = { path: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: 1704067200 };
      if (st.isDirectory()) {
        yield { ...base, type: 'dir' };
        yield* walk(a, r);
      } else if (st.isSymbolicLink()) {
        yield { ...base, type: 'symlink', linkname: fs.readlinkSync(a) };
      } else {
        yield { ...base, type: 'file', size: st.size, source: a };
      }
    }
  }

  it('writes a gzip layer with correct digests and sizes', async () => {
    const out = path.join(tmp, 'layer.tar.gz');
    const res = await writeLayer(walk(), { out, compression: 'gzip' });
    const blob = fs.readFileSync(out);
    const tarBytes = zlib.gunzipSync(blob);
    expect(res.compressed).to.equal(true);
    expect(res.size).to.equal(blob.length);
    expect(res.digest).to.equal(sha256(blob));
    expect(res.diffId).to.equal(sha256(tarBytes));
    expect(res.uncompressedSize).to.equal(tarBytes.length);
    expect(res.digest).to.not.equal(res.diffId);

    const got = await extractAll(tarBytes);
    const names = got.map((g) => g.header.name.replace(/\/$/, ''));
    expect(names).to.deep.equal([...walk()].map((e) => e.path));
    const big = got.find((g) => g.header.name === 'big.txt')!;
    expect(big.data.equals(fs.readFileSync(path.join(tree, 'big.txt')))).to.equal(true);
    expect(got.find((g) => g.header.name === 'link')!.header.linkname).to.equal('d0/f1');
  });

  it('is byte-identical for 0, 1 and 2 workers', async () => {
    const digests = new Set<string>();
    const blobs: Buffer[] = [];
    for (const workers of [0, 1, 2]) {
      const out = path.join(tmp, `w${workers}.tar.gz`);
      const res = await writeLayer(walk(), { out, compression: 'gzip', workers });
      digests.add(res.digest);
      blobs.push(fs.readFileSync(out));
    }
    expect(digests.size).to.equal(1);
    expect(blobs[0].equals(blobs[1]) && blobs[1].equals(blobs[2])).to.equal(true);
  });

  it('writes uncompressed layers with digest === diffId', async () => {
    const out = path.join(tmp, 'layer.tar');
    const res = await writeLayer(walk(), { out, compression: 'none' });
    const blob = fs.readFileSync(out);
    expect(res.compressed).to.equal(false);
    expect(res.digest).to.equal(res.diffId);
    expect(res.diffId).to.equal(sha256(blob));
    expect(res.size).to.equal(blob.length);
    expect(res.uncompressedSize).to.equal(blob.length);
    // same tar as inside the gzip layer
    const gzOut = path.join(tmp, 'layer2.tar.gz');
    const gzRes = await writeLayer(walk(), { out: gzOut, compression: 'gzip' });
    expect(gzRes.diffId).to.equal(res.diffId);
  });

  for (const compression of ['gzip', 'none'] as const) {
    it(`rejects and removes the output when the entries iterator throws (${compression})`, async () => {
      const out = path.join(tmp, `broken-${compression}`);
      function* broken(): Generator<TarEntry> {
        let n = 0;
        for (const e of walk()) {
          yield e;
          if (++n === 60) throw new Error('walk failed');
        }
      }
      let caught: unknown;
      try {
        await writeLayer(broken(), { out, compression });
      } catch (err) {
        caught = err;
      }
      expect((caught as Error)?.message).to.equal('walk failed');
      expect(fs.existsSync(out)).to.equal(false);
    });
  }

  it('rejects and removes the output when a source file is missing', async () => {
    const out = path.join(tmp, 'missing.tar.gz');
    const entries: TarEntry[] = [
      { path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 4, source: path.join(tmp, 'nope') },
    ];
    let caught: unknown;
    try {
      await writeLayer(entries, { out, compression: 'gzip' });
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string })?.code).to.equal('ESYSTEM');
    expect(fs.existsSync(out)).to.equal(false);
  });
});
