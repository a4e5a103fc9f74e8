import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { readTar, type PaxRecords } from '../../lib/store/tar-reader.js';

/** Every entry of an archive as "type name -> linkname size uid:gid mode" and its body. */
async function list(archive: Buffer, chunk = 4096): Promise<{ entries: string[]; bodies: Map<string, string>; globals: PaxRecords }> {
  const parts: Buffer[] = [];
  for (let i = 0; i < archive.length; i += chunk) parts.push(archive.subarray(i, i + chunk));
  const globals: PaxRecords = new Map();
  const entries: string[] = [];
  const bodies = new Map<string, string>();
  for await (const e of readTar(Readable.from(parts), globals)) {
    const h = e.header;
    // ids too large for the header are in PAX records (pax format) or base-256 fields (gnu format)
    const id = (k: 'uid' | 'gid') => Number(e.pax?.get(k)?.toString() ?? h[k]);
    entries.push(`${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ''} ${h.size} ${id('uid')}:${id('gid')} ${h.mode.toString(8)}`);
    const got: Buffer[] = [];
    for await (const c of e) got.push(c);
    if (h.type === 'file') bodies.set(h.name, Buffer.concat(got).toString('latin1'));
  }
  return { entries, bodies, globals };
}

describe('store/tar-reader', function () {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-tar-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const gnuTar = (format: string, ...extra: string[]) => execFileSync('tar', [`--format=${format}`, '--numeric-owner', '-C', tmp, '-cf', '-', ...extra, 'src'], { maxBuffer: 64 << 20 });

  function tree(): void {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'd'.repeat(120)), { recursive: true });
    fs.writeFileSync(path.join(src, 'd'.repeat(120), 'f'.repeat(110)), 'long');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(300_000, 7));
    fs.symlinkSync('t'.repeat(150), path.join(src, 'longlink'));
    fs.writeFileSync(path.join(src, 'owned'), 'o');
    fs.chownSync(path.join(src, 'owned'), 3_000_000, 4_000_000);
    fs.chmodSync(path.join(src, 'owned'), 0o4750);
  }

  for (const format of ['gnu', 'pax']) {
    it(`reads long names, long link targets, large ids and bodies split across chunks (${format})`, async () => {
      tree();
      for (const chunk of [512, 4096, 1 << 20]) {
        const { entries, bodies } = await list(gnuTar(format), chunk);
        expect(entries).to.include(`symlink src/longlink -> ${'t'.repeat(150)} 0 0:0 777`);
        expect(entries).to.include('file src/owned 1 3000000:4000000 4750');
        expect(bodies.get(`src/${'d'.repeat(120)}/${'f'.repeat(110)}`)).to.equal('long');
        expect(bodies.get('src/big')).to.equal(Buffer.alloc(300_000, 7).toString('latin1'));
      }
    });
  }

  it('keeps global PAX records apart from the entries', async () => {
    tree();
    const { globals } = await list(gnuTar('pax', '--pax-option=globexthdr.name=g,hod.note=x'));
    expect(globals.get('hod.note')?.toString()).to.equal('x');
  });

  it('reads the input to its end, past the end-of-archive blocks', async () => {
    tree();
    const archive = Buffer.concat([gnuTar('pax'), Buffer.alloc(8192)]);
    const input = Readable.from([archive]);
    let ended = false;
    input.on('end', () => (ended = true));
    for await (const e of readTar(input, new Map())) e.resume();
    expect(ended).to.equal(true);
  });

  it('says what is wrong with a corrupt header and a truncated archive', async () => {
    tree();
    const archive = gnuTar('pax');
    const bad = Buffer.from(archive);
    bad[10] ^= 0xff; // a byte of the first header's name: its checksum no longer holds
    const e1 = await list(bad).then(() => undefined, (e: Error) => e);
    expect(e1?.message).to.match(/Invalid tar header/);
    const e2 = await list(archive.subarray(0, 2000)).then(() => undefined, (e: Error) => e);
    expect(e2?.message).to.equal('Unexpected end of data');
  });

  it('reads octal fields ended by a space or NUL, and refuses a size that is not a number', async () => {
    /** A ustar header for a file of `size` (the field's text), with a valid checksum, then its body. */
    const header = (size: string, body = ''): Buffer => {
      const b = Buffer.alloc(512);
      const put = (off: number, text: string) => b.write(text, off, 'latin1');
      put(0, 'f');
      put(100, '0000644\0');
      put(108, ' 1750 \0'); // leading spaces, ended by a space
      put(116, '0000012\0');
      put(124, size);
      put(136, '14000000000\0');
      put(156, '0');
      put(257, 'ustar\0');
      put(263, '00');
      b.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of b) sum += x;
      put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
      const data = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      data.write(body, 'latin1');
      return Buffer.concat([b, data, Buffer.alloc(1024)]);
    };
    const ok = await list(header('00000000003\0', 'abc'));
    expect(ok.entries).to.deep.equal(['file f 3 1000:10 644']);
    expect(ok.bodies.get('f')).to.equal('abc');
    const e = await list(header('zz0\0')).then(() => undefined, (err: Error) => err);
    expect(e?.message).to.equal('Invalid header');
  });
});
