import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { execa } from 'execa';
import tar from 'tar-stream';
import { HostileArchiveError } from '../../lib/errors.js';
import { detectCompression, isTarArchive, unpackLayer, type UnpackOptions } from '../../lib/store/unpack.js';
import { getXattrsTree, setXattrs, type Xattrs } from '../../lib/store/xattr.js';
import { OVERLAY_OPAQUE_XATTR, isOverlayWhiteoutPath } from '../../lib/store/whiteout.js';

/** security.capability v2 granting cap_net_bind_service and cap_setfcap (bytes >= 0x80 on purpose). */
const CAPABILITY = Buffer.from('0100000200040080000000000000000000000000', 'hex');

type Header = Parameters<tar.Pack['entry']>[0];
type Spec = Header & { data?: string | Buffer };

/** A tar archive made with tar-stream from entry headers. */
async function packTar(specs: Spec[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { data, ...header } of specs) {
    const h: Header = { mode: header.type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_600_000_000_000), ...header };
    if (data !== undefined) pack.entry(h, data);
    else pack.entry(h);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function unpack(archive: Buffer, dest: string, opts: Partial<UnpackOptions> = {}) {
  return unpackLayer(Readable.from([archive]), dest, { whiteouts: 'none', ...opts });
}

/** Every path under dir (relative) with type, mode, owner, size, link target, for "nothing changed" checks. */
function snapshot(dir: string): Record<string, string> {
  // names as byte strings (latin1) so that non-UTF-8 names survive
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const p = Buffer.from(path.join(dir, rel), 'latin1');
    const st = fs.lstatSync(p);
    const kind = st.isSymbolicLink() ? `l->${fs.readlinkSync(p, 'latin1')}` : st.isDirectory() ? 'd' : `f${st.size}:${st.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 12) : st.rdev}`;
    out[rel || '.'] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.nlink} ${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isDirectory()) for (const c of fs.readdirSync(p, 'latin1').sort()) walk(path.join(rel, c));
  };
  walk('');
  return out;
}

describe('store/unpack', function () {
  this.timeout(30_000);
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-unpack-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('detectCompression', () => {
    const cases: Array<[string, number[], string]> = [
      ['gzip', [0x1f, 0x8b, 8, 0, 0, 0], 'gzip'],
      ['bzip2', [0x42, 0x5a, 0x68, 0x39, 0x31, 0x41], 'bzip2'],
      ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
      ['zstd', [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00], 'zstd'],
      ['tar', [0x2e, 0x2f, 0, 0, 0, 0], 'none'],
      ['short', [0x1f], 'none'],
    ];
    for (const [what, bytes, want] of cases) {
      it(`${what} -> ${want}`, () => expect(detectCompression(Buffer.from(bytes))).to.equal(want));
    }
  });

  describe('owners and modes when chown and chmod are skipped for files and directories that are already right', () => {
    it('gives a file or directory the tar\'s group inside a setgid directory, and modes the umask would mask', async () => {
      const archive = await packTar([
        { name: 'sg', type: 'directory', mode: 0o2775, uid: 0, gid: 1234 },
        { name: 'sg/f', data: 'x', mode: 0o644, uid: 0, gid: 0 },
        { name: 'plain', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
        { name: 'plain/open', data: 'x', mode: 0o666, uid: 0, gid: 0 },
        { name: 'plain/suid', data: 'x', mode: 0o4755, uid: 0, gid: 0 },
        { name: 'plain/other', data: 'x', mode: 0o640, uid: 1000, gid: 1000 },
        { name: 'plain/mine', data: 'x', mode: 0o600, uid: 0, gid: 0 },
        { name: 'sg/d', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
        { name: 'plain/d', type: 'directory', mode: 0o755, uid: 0, gid: 0 },
        { name: 'plain/open-d', type: 'directory', mode: 0o777, uid: 0, gid: 0 },
        { name: 'plain/sticky', type: 'directory', mode: 0o1777, uid: 0, gid: 0 },
        { name: 'plain/other-d', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
      ]);
      await unpack(archive, tmp);
      const st = (p: string) => fs.lstatSync(path.join(tmp, p));
      expect(st('sg').gid).to.equal(1234);
      expect(st('sg').mode & 0o7777).to.equal(0o2775);
      expect(st('sg/f').gid, 'not the setgid directory\'s group').to.equal(0);
      expect(st('plain/open').mode & 0o7777).to.equal(0o666);
      expect(st('plain/suid').mode & 0o7777).to.equal(0o4755);
      expect([st('plain/other').uid, st('plain/other').gid, st('plain/other').mode & 0o7777]).to.deep.equal([1000, 1000, 0o640]);
      expect(st('plain/mine').mode & 0o7777).to.equal(0o600);
      const dir = (p: string) => [st(p).uid, st(p).gid, st(p).mode & 0o7777];
      expect(dir('sg/d'), 'neither the setgid directory\'s group nor its setgid bit').to.deep.equal([0, 0, 0o755]);
      expect(dir('plain/d')).to.deep.equal([0, 0, 0o755]);
      expect(dir('plain/open-d')).to.deep.equal([0, 0, 0o777]);
      expect(dir('plain/sticky')).to.deep.equal([0, 0, 0o1777]);
      expect(dir('plain/other-d')).to.deep.equal([1000, 1000, 0o750]);
    });
  });

  describe('hostile archives', () => {
    // Layout: tmp/dest is unpacked into; tmp/outside must stay as it is.
    let dest: string;
    let outside: string;
    beforeEach(() => {
      dest = path.join(tmp, 'dest');
      outside = path.join(tmp, 'outside');
      fs.mkdirSync(dest);
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'secret'), 'secret');
    });

    const table: Array<[string, () => Spec[], UnpackOptions['whiteouts']?, (() => void)?]> = [
      ['../x', () => [{ name: '../outside/x', data: 'pwned' }]],
      ['a/../../x', () => [{ name: 'a/', type: 'directory' }, { name: 'a/../../outside/x', data: 'pwned' }]],
      ['a long (pax) name with ..', () => [{ name: 'a/'.repeat(60) + '../'.repeat(61) + 'outside/x', data: 'pwned' }]],
      ['relative symlink escape, then a file through it', () => [
        { name: 'link', type: 'symlink', linkname: '../outside' },
        { name: 'link/pwned', data: 'pwned' },
      ]],
      ['nested relative symlink climbing out', () => [
        { name: 'd/', type: 'directory' },
        { name: 'd/up', type: 'symlink', linkname: '../..' },
        { name: 'd/up/outside/pwned', data: 'pwned' },
      ]],
      ['symlink to /, then a write through it', () => [
        { name: 'evil', type: 'symlink', linkname: '/' },
        { name: `evil${outside}/pwned`, data: 'pwned' },
      ]],
      ['absolute symlink, then a file under it', () => [
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'abs/pwned', data: 'pwned' },
      ]],
      ['absolute symlink, then a directory under it', () => [
        { name: 'abs', type: 'symlink', linkname: outside },
        { name: 'abs/newdir/', type: 'directory' },
      ]],
      ['hardlink to /etc/passwd', () => [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]],
      ['hardlink climbing out', () => [{ name: 'pw', type: 'link', linkname: '../outside/secret' }]],
      ['hardlink through an escaping symlink', () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'pw', type: 'link', linkname: 'l/secret' },
      ]],
      ['device through an escaping symlink', () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/null', type: 'character-device', devmajor: 1, devminor: 3 },
      ]],
      ['whiteout of ".." (apply)', () => [{ name: 'a/.wh..', data: '' }], 'apply'],
      ['whiteout through an escaping symlink (apply)', () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/.wh.secret', data: '' },
      ], 'apply'],
      ['opaque dir through an escaping symlink (apply)', () => [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/.wh..wh..opq', data: '' },
      ], 'apply'],
      ['whiteout through an escaping symlink (overlay)', () => [
        { name: 'l', type: 'symlink', linkname: '../outside' },
        { name: 'l/.wh.secret', data: '' },
      ], 'overlay'],
      ['a NUL byte in a PAX path', () => [{ name: 'x', data: 'x', pax: { path: 'ok\0/../../outside/x' } }]],
      ['a symlink loop', () => [
        { name: 'loop', type: 'symlink', linkname: 'loop' },
        { name: 'loop/x', data: 'x' },
      ]],
      ['a symlink already in dest pointing outside', () => [{ name: 'pre/pwned', data: 'pwned' }], 'apply',
        () => fs.symlinkSync(outside, path.join(dest, 'pre'))],
    ];

    const runs = table.flatMap(([t, sp, w, se]): Array<[string, () => Spec[], UnpackOptions['whiteouts'] | undefined, (() => void) | undefined, boolean]> =>
      w === 'apply' ? [[t, sp, w, se, false]] : [[t, sp, w, se, false], [`${t} (worker thread writes)`, sp, w, se, true]]);
    for (const [title, specs, whiteouts, setup, parallelWrites] of runs) {
      it(`refuses ${title}`, async () => {
        setup?.();
        const before = snapshot(tmp);
        for (const k of Object.keys(before)) if (k === 'dest' || k.startsWith('dest/')) delete before[k];
        let err: unknown;
        try {
          await unpack(await packTar(specs()), dest, { whiteouts: whiteouts ?? 'none', parallelWrites });
        } catch (e) { err = e; }
        expect(err, 'must be refused').to.be.instanceOf(HostileArchiveError);
        expect((err as Error).message).to.match(/refusing archive entry "/);
        const after = snapshot(tmp);
        for (const k of Object.keys(after)) if (k === 'dest' || k.startsWith('dest/')) delete after[k];
        expect(after).to.deep.equal(before);
        expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).to.equal('secret');
      });
    }

    it('names the entry', async () => {
      const archive = await packTar([{ name: 'ok', data: '1' }, { name: 'x/../../bad', data: '2' }]);
      try {
        await unpack(archive, dest);
        expect.fail('should refuse');
      } catch (e) {
        expect((e as Error).message).to.contain('"x/../../bad"');
      }
    });

    it('accepts what only looks hostile', async () => {
      await unpack(await packTar([
        { name: '/abs/file', data: 'a' }, // made relative, like tar
        { name: './a/../b', data: 'b' },
        { name: 'usr/lib/', type: 'directory' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'lib/libc.so', data: 'c' }, // through a relative symlink that stays inside
        { name: 'outlink', type: 'symlink', linkname: '../../../../etc/shadow' }, // creating one is fine
        { name: 'abslink', type: 'symlink', linkname: '/etc/shadow' },
        { name: 'abslink', data: 'replaces the link, does not follow it' },
        { name: 'hl', type: 'link', linkname: '/abs/file'.slice(1) },
      ]), dest);
      expect(fs.readFileSync(path.join(dest, 'abs/file'), 'utf8')).to.equal('a');
      expect(fs.readFileSync(path.join(dest, 'b'), 'utf8')).to.equal('b');
      expect(fs.readFileSync(path.join(dest, 'usr/lib/libc.so'), 'utf8')).to.equal('c');
      expect(fs.readlinkSync(path.join(dest, 'outlink'))).to.equal('../../../../etc/shadow');
      expect(fs.lstatSync(path.join(dest, 'abslink')).isFile()).to.equal(true);
      expect(fs.statSync(path.join(dest, 'hl')).ino).to.equal(fs.statSync(path.join(dest, 'abs/file')).ino);
    });
  });

  describe('files written by the worker thread: the same tree as written in order', () => {
    const cases: Array<[string, () => Spec[]]> = [
      ['a file given twice', () => [{ name: 'a', data: 'first' }, { name: 'a', data: 'second', mode: 0o600 }]],
      ['a file replaced by a directory, then a file in it', () => [{ name: 'x', data: 'file' }, { name: 'x/', type: 'directory' }, { name: 'x/y', data: 'y' }]],
      ['a directory replaced by a file', () => [{ name: 'd/', type: 'directory' }, { name: 'd/f', data: 'f' }, { name: 'd', data: 'now a file' }]],
      ['a hard link to a file just queued', () => [{ name: 'f', data: 'content', uid: 7, gid: 8 }, { name: 'h', type: 'link', linkname: 'f' }]],
      ['a symlink replacing a file, then a file beside it', () => [{ name: 's', data: 's' }, { name: 's', type: 'symlink', linkname: 'target' }, { name: 't', data: 't' }]],
      ['a whiteout for a file of the same layer', () => [{ name: 'w', data: 'kept' }, { name: '.wh.w', data: '' }]],
      ['large files in pieces among small ones', () => [
        { name: 'small', data: 's' },
        { name: 'big', data: Buffer.alloc(5 * (1 << 20) + 3, 'abc'), mode: 0o4755 },
        { name: 'mid', data: 'm'.repeat(1 << 20) },
        { name: 'big2', data: Buffer.alloc(3 * (1 << 20), 7), uid: 5, gid: 6 },
        { name: 'after', data: 'a' },
      ]],
      ['many files across directories', () => Array.from({ length: 300 }, (_, i) => ({ name: `d${i % 7}/sub${i % 3}/f${i}`, data: 'x'.repeat(i * 37), mode: i % 2 ? 0o644 : 0o755, uid: i % 5, gid: i % 4 }))],
      // 12 MB in 2 MB batches: the worker hands batch buffers back and they are filled again
      ['files filling many batches', () => Array.from({ length: 40 }, (_, i) => ({ name: `big/f${i}`, data: String.fromCharCode(97 + (i % 26)).repeat(300_000 + i) }))],
    ];
    for (const [title, specs] of cases) {
      it(title, async () => {
        const archive = await packTar(specs());
        const inOrder = path.join(tmp, 'in-order');
        const threaded = path.join(tmp, 'threaded');
        // directories made on the way get the time of the unpack: fix every time so two unpacks compare
        await unpack(archive, inOrder, { whiteouts: 'overlay', mtimeOverride: 1_234_567 });
        await unpack(archive, threaded, { whiteouts: 'overlay', mtimeOverride: 1_234_567, parallelWrites: true });
        const [got, want] = [snapshot(threaded), snapshot(inOrder)];
        delete got['.']; // the destination itself keeps the time its last entry gave it
        delete want['.'];
        expect(got).to.deep.equal(want);
      });
    }

    it('contains a directory swapped for a symlink while its files are queued', async () => {
      const outside = path.join(tmp, 'outside');
      fs.mkdirSync(outside);
      const archive = await packTar([
        { name: 'd/', type: 'directory' },
        ...Array.from({ length: 50 }, (_, i) => ({ name: `d/f${i}`, data: 'q'.repeat(1000) })),
        { name: 'd', type: 'symlink', linkname: '../outside' },
        { name: 'd/pwned', data: 'pwned' },
      ]);
      const err = await unpack(archive, path.join(tmp, 'dest'), { whiteouts: 'none', parallelWrites: true }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(HostileArchiveError);
      expect(fs.readdirSync(outside)).to.deep.equal([]);
    });
  });

  describe('round trip of a tree made by GNU tar', () => {
    let src: string;
    let tarball: string;
    const T = 1_000_000_000;

    beforeEach(async () => {
      src = path.join(tmp, 'src');
      const p = (rel: string) => path.join(src, rel);
      fs.mkdirSync(src);
      for (const d of ['bin', 'etc', 'dev', 'run', 'tmp', 'private']) fs.mkdirSync(p(d));
      fs.writeFileSync(p('bin/prog'), 'x'.repeat(70_000));
      fs.chownSync(p('bin/prog'), 1000, 1000);
      fs.chmodSync(p('bin/prog'), 0o4755);
      fs.writeFileSync(p('bin/sg'), 'sg');
      fs.chownSync(p('bin/sg'), 0, 50);
      fs.chmodSync(p('bin/sg'), 0o2711);
      fs.writeFileSync(p('bin/ping'), 'ping');
      fs.chownSync(p('bin/ping'), 0, 0);
      fs.chmodSync(p('bin/ping'), 0o755);
      await setXattrs(p('bin/ping'), { 'security.capability': CAPABILITY, 'user.note': Buffer.from([0, 1, 0xfe]) });
      fs.chmodSync(p('tmp'), 0o1777);
      fs.chmodSync(p('private'), 0o700);
      fs.chownSync(p('private'), 42, 43);
      fs.writeFileSync(p('etc/conf'), 'conf');
      fs.chownSync(p('etc/conf'), 123, 456);
      fs.chmodSync(p('etc/conf'), 0o640);
      fs.linkSync(p('etc/conf'), p('etc/hard'));
      fs.symlinkSync('conf', p('etc/link'));
      fs.lchownSync(p('etc/link'), 7, 8);
      fs.writeFileSync(Buffer.from(p('etc/caf') + '\xe9', 'latin1'), 'latin1 name');
      fs.writeFileSync(p('etc/' + 'long-name-'.repeat(15)), 'long');
      await execa('mknod', ['-m', '666', p('dev/null'), 'c', '1', '3']);
      await execa('mknod', ['-m', '660', p('dev/loop0'), 'b', '7', '0']);
      fs.chownSync(p('dev/loop0'), 0, 6);
      await execa('mknod', ['-m', '600', p('run/fifo'), 'p']);
      fs.lutimesSync(p('etc/link'), T + 5, T + 5);
      for (const f of ['bin/prog', 'bin/sg', 'bin/ping', 'etc/conf', 'dev/null', 'run/fifo']) fs.utimesSync(p(f), T + 1, T + 2);
      for (const d of ['bin', 'etc', 'dev', 'run', 'tmp', 'private']) fs.utimesSync(p(d), T + 3, T + 4);
      tarball = path.join(tmp, 'layer.tar');
      await execa('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '-cf', tarball, '.']);
    });

    const variants: Array<[string, string | undefined, boolean?]> = [
      ['plain', undefined], ['gzip', 'gzip'], ['bzip2', 'bzip2'], ['xz', 'xz'], ['zstd', 'zstd'],
      ['plain, files written by the worker thread', undefined, true], ['gzip, files written by the worker thread', 'gzip', true],
    ];
    for (const [name, tool, parallelWrites] of variants) {
      it(`restores everything (${name})`, async function () {
        let file = tarball;
        if (tool) {
          await execa(tool, ['-q', '-k', tarball]);
          file = tarball + { gzip: '.gz', bzip2: '.bz2', xz: '.xz', zstd: '.zst' }[tool];
        }
        expect(await isTarArchive(file)).to.equal(true);
        const dest = path.join(tmp, 'dest');
        const res = await unpackLayer(fs.createReadStream(file), dest, { whiteouts: 'overlay', parallelWrites });
        expect(res.entries).to.equal(Object.keys(snapshot(src)).length); // "." is an entry too
        expect(res.bytes).to.equal(70_000 + 2 + 4 + 4 + 11 + 4);
        const want = snapshot(src);
        const got = snapshot(dest);
        delete want['.'];
        delete got['.'];
        expect(JSON.stringify(got, null, 1)).to.equal(JSON.stringify(want, null, 1));
        const x = await getXattrsTree(dest);
        expect(x.get(path.join(dest, 'bin/ping'))).to.deep.equal({ 'security.capability': CAPABILITY, 'user.note': Buffer.from([0, 1, 0xfe]) });
        const st = (rel: string) => fs.lstatSync(path.join(dest, rel));
        expect(st('bin/prog').mode & 0o7777).to.equal(0o4755);
        expect(st('dev/null').rdev).to.equal(259);
        expect(st('etc/hard').ino).to.equal(st('etc/conf').ino);
        expect(st('etc/link').mtimeMs).to.equal((T + 5) * 1000);
        expect(st('bin').mtimeMs).to.equal((T + 4) * 1000);
        // sub-second PAX mtimes survive to about a microsecond (what a double of seconds holds)
        const srcLong = fs.lstatSync(path.join(src, 'etc/' + 'long-name-'.repeat(15))).mtimeMs;
        expect(st('etc/' + 'long-name-'.repeat(15)).mtimeMs).to.be.closeTo(srcLong, 0.002);
        expect(fs.readFileSync(Buffer.from(path.join(dest, 'etc/caf') + '\xe9', 'latin1'), 'utf8')).to.equal('latin1 name');
      });
    }

    it('says what is not a tar archive', async () => {
      const text = path.join(tmp, 'notes.txt');
      fs.writeFileSync(text, 'hello '.repeat(200));
      expect(await isTarArchive(text)).to.equal(false);
      await execa('gzip', ['-k', text]);
      expect(await isTarArchive(text + '.gz')).to.equal(false);
      fs.writeFileSync(path.join(tmp, 'empty'), '');
      expect(await isTarArchive(path.join(tmp, 'empty'))).to.equal(false);
      fs.writeFileSync(path.join(tmp, 'zeros'), Buffer.alloc(1024));
      expect(await isTarArchive(path.join(tmp, 'zeros'))).to.equal(false);
    });

    it('fails on a corrupt compressed stream', async () => {
      await execa('xz', ['-k', tarball]);
      const data = fs.readFileSync(tarball + '.xz');
      data.fill(0x55, 200, 400);
      let err: unknown;
      try {
        await unpackLayer(Readable.from([data]), path.join(tmp, 'dest'), { whiteouts: 'none' });
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error).with.property('message').that.match(/xz/);
      const gz = fs.readFileSync((await execa('gzip', ['-k', tarball]), tarball + '.gz'));
      err = undefined;
      try {
        await unpackLayer(Readable.from([gz.subarray(0, gz.length - 100)]), path.join(tmp, 'dest2'), { whiteouts: 'none' });
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error);
    });
  });

  describe('whiteouts', () => {
    const layer = (): Spec[] => [
      { name: 'a/', type: 'directory' },
      { name: 'a/.wh.gone', data: '', uid: 5, gid: 6 },
      { name: 'b/', type: 'directory' },
      { name: 'b/sub/', type: 'directory' },
      { name: 'b/sub/new2', data: 'new2' }, // before the marker: still this layer's
      { name: 'b/.wh..wh..opq', data: '' },
      { name: 'b/new', data: 'new' },
      { name: 'c/x', data: 'x' },
      { name: 'c/.wh.x', data: '' }, // same layer: does not hide x
      { name: '.wh.topdir', data: '' },
      { name: 'd/.wh..wh.plnk/123', data: 'aufs' }, // AUFS metadata: skipped
    ];

    it('overlay: char 0:0 devices and the opaque xattr', async () => {
      const dest = path.join(tmp, 'layer');
      await unpack(await packTar(layer()), dest, { whiteouts: 'overlay' });
      expect(isOverlayWhiteoutPath(path.join(dest, 'a/gone'))).to.equal(true);
      expect(fs.lstatSync(path.join(dest, 'a/gone'))).to.include({ uid: 5, gid: 6 });
      expect(isOverlayWhiteoutPath(path.join(dest, 'topdir'))).to.equal(true);
      expect(fs.readFileSync(path.join(dest, 'c/x'), 'utf8')).to.equal('x');
      expect(fs.readdirSync(path.join(dest, 'b')).sort()).to.deep.equal(['new', 'sub']);
      const x = await getXattrsTree(dest);
      expect(x.get(path.join(dest, 'b'))).to.deep.equal({ [OVERLAY_OPAQUE_XATTR]: Buffer.from('y') });
      expect(x.size).to.equal(1);
      expect(fs.existsSync(path.join(dest, 'd'))).to.equal(false);
      const all = Object.keys(snapshot(dest));
      expect(all.filter((k) => path.basename(k).startsWith('.wh.'))).to.deep.equal([]);
    });

    it('overlay: the result works as a lower layer of a real overlay mount', async function () {
      const lower1 = path.join(tmp, 'l1');
      const lower2 = path.join(tmp, 'l2');
      const merged = path.join(tmp, 'merged');
      await unpack(await packTar([
        { name: 'a/gone', data: 'old' }, { name: 'a/kept', data: 'kept' }, { name: 'b/old1', data: 'o' },
        { name: 'b/sub/old2', data: 'o' }, { name: 'topdir/f', data: 'f' },
      ]), lower1, { whiteouts: 'overlay' });
      await unpack(await packTar(layer()), lower2, { whiteouts: 'overlay' });
      fs.mkdirSync(merged);
      const m = await execa('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower2}:${lower1}`, merged], { reject: false });
      expect(m.exitCode, m.stderr).to.equal(0);
      try {
        const ls = (d: string) => fs.readdirSync(path.join(merged, d)).sort();
        expect(ls('.')).to.deep.equal(['a', 'b', 'c']);
        expect(ls('a')).to.deep.equal(['kept']);
        expect(ls('b')).to.deep.equal(['new', 'sub']);
        expect(ls('b/sub')).to.deep.equal(['new2']);
      } finally {
        await execa('umount', [merged]);
      }
    });

    it('apply: deletes paths and empties opaque dirs of lower content', async () => {
      const dest = path.join(tmp, 'rootfs');
      await unpack(await packTar([
        { name: 'a/gone', data: 'old' }, { name: 'a/stay', data: 'stay' }, { name: 'b/old1', data: 'o' },
        { name: 'b/sub/old2', data: 'o' }, { name: 'b/sub/deeper/old3', data: 'o' }, { name: 'topdir/f', data: 'f' },
      ]), dest, { whiteouts: 'apply' });
      await unpack(await packTar(layer()), dest, { whiteouts: 'apply' });
      const ls = (d: string) => fs.readdirSync(path.join(dest, d)).sort();
      expect(ls('.')).to.deep.equal(['a', 'b', 'c']);
      expect(ls('a')).to.deep.equal(['stay']);
      expect(ls('b')).to.deep.equal(['new', 'sub']);
      expect(ls('b/sub')).to.deep.equal(['new2']);
      expect(ls('c')).to.deep.equal(['x']);
    });

    it('none: writes .wh. files literally', async () => {
      const dest = path.join(tmp, 'plain');
      await unpack(await packTar(layer()), dest, { whiteouts: 'none' });
      expect(fs.readdirSync(path.join(dest, 'b')).sort()).to.deep.equal(['.wh..wh..opq', 'new', 'sub']);
      expect(fs.lstatSync(path.join(dest, 'a/.wh.gone')).isFile()).to.equal(true);
    });
  });

  describe('large files (written with O_DIRECT where the file system takes it)', () => {
    it('holds exactly the archive\'s bytes, modes and times, also when given twice or read in small chunks', async () => {
      const big = crypto.randomBytes(9 * (1 << 20) + 5);
      const aligned = crypto.randomBytes(8 << 20);
      const archive = await packTar([
        { name: 'big', data: aligned, mode: 0o600 },
        { name: 'big', data: big, mode: 0o4750, mtime: new Date(1_500_000_000_000) },
        { name: 'aligned', data: aligned },
      ]);
      // /var/tmp: a tmpfs /tmp may refuse O_DIRECT, and the direct path is the one to test
      const dest = fs.mkdtempSync(path.join(fs.existsSync('/var/tmp') ? '/var/tmp' : tmp, 'hod-unpack-big-'));
      try {
        const pieces = Array.from({ length: Math.ceil(archive.length / 65_536) }, (_, i) => archive.subarray(i * 65_536, (i + 1) * 65_536));
        for (const [input, parallelWrites] of [[Readable.from([archive]), false], [Readable.from(pieces), true]] as const) {
          fs.rmSync(path.join(dest, 'x'), { recursive: true, force: true });
          await unpackLayer(input, path.join(dest, 'x'), { whiteouts: 'overlay', parallelWrites });
          expect(fs.readFileSync(path.join(dest, 'x/big')).equals(big)).to.equal(true);
          expect(fs.readFileSync(path.join(dest, 'x/aligned')).equals(aligned)).to.equal(true);
          const st = fs.statSync(path.join(dest, 'x/big'));
          expect([st.mode & 0o7777, st.mtimeMs]).to.deep.equal([0o4750, 1_500_000_000_000]);
        }
      } finally {
        fs.rmSync(dest, { recursive: true, force: true });
      }
    });
  });

  describe('input handling', () => {
    it('takes an empty stream as an empty archive and refuses garbage', async () => {
      expect(await unpackLayer(Readable.from([]), path.join(tmp, 'a'), { whiteouts: 'none' })).to.deep.equal({ entries: 0, bytes: 0 });
      let err: unknown;
      try {
        await unpackLayer(Readable.from([Buffer.from('abc')]), path.join(tmp, 'b'), { whiteouts: 'none' });
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error);
    });

    it('reads a stream of tiny chunks, compressed or not', async () => {
      const archive = await packTar([{ name: 'd/f', data: 'x'.repeat(3000) }, { name: 'g', data: 'g' }]);
      const gz = (await import('node:zlib')).gzipSync(archive);
      for (const [i, data] of [archive, gz].entries()) {
        const chunks: Buffer[] = [];
        for (let off = 0; off < data.length; off += 3) chunks.push(data.subarray(off, off + 3));
        const dest = path.join(tmp, `d${i}`);
        const res = await unpackLayer(Readable.from(chunks), dest, { whiteouts: 'none' });
        expect(res).to.deep.equal({ entries: 2, bytes: 3001 });
        expect(fs.readFileSync(path.join(dest, 'd/f'), 'utf8')).to.equal('x'.repeat(3000));
      }
    });

    it('leaves the metadata of dest itself alone', async () => {
      const dest = path.join(tmp, 'dest');
      fs.mkdirSync(dest, 0o755);
      await unpack(await packTar([{ name: './', type: 'directory', mode: 0o700, uid: 5 }, { name: './f', data: 'f' }]), dest);
      expect(fs.lstatSync(dest).mode & 0o7777).to.equal(0o755);
      expect(fs.lstatSync(dest).uid).to.equal(0);
    });
  });

  describe('metadata and replacement', () => {
    it('forces ownership and mtimes when asked', async () => {
      const dest = path.join(tmp, 'dest');
      await unpack(await packTar([
        { name: 'implicit/file', data: 'f', uid: 1000, gid: 1000, mode: 0o4755 },
        { name: 'dir/', type: 'directory', uid: 1000, gid: 1000 },
        { name: 'dir/link', type: 'symlink', linkname: '../implicit/file', uid: 1000, gid: 1000 },
        { name: 'dir/fifo', type: 'fifo', uid: 1000, gid: 1000 },
      ]), dest, { ownership: { uid: 33, gid: 44 }, mtimeOverride: 1234567890 });
      for (const rel of ['implicit', 'implicit/file', 'dir', 'dir/link', 'dir/fifo']) {
        const st = fs.lstatSync(path.join(dest, rel));
        expect([rel, st.uid, st.gid, st.mtimeMs]).to.deep.equal([rel, 33, 44, 1234567890_000]);
      }
      expect(fs.lstatSync(path.join(dest, 'implicit/file')).mode & 0o7777).to.equal(0o4755);
      expect(fs.lstatSync(path.join(dest, 'implicit')).mode & 0o7777).to.equal(0o755);
    });

    it('keeps modes exact whatever the umask', async () => {
      const old = process.umask(0o077);
      try {
        const dest = path.join(tmp, 'dest');
        await unpack(await packTar([
          { name: 'd/', type: 'directory', mode: 0o2775 },
          { name: 'd/f', data: 'f', mode: 0o666 },
          { name: 'd/n', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o666 },
          { name: 'deep/er/f', data: 'f', mode: 0o644 },
        ]), dest);
        const mode = (rel: string) => fs.lstatSync(path.join(dest, rel)).mode & 0o7777;
        expect([mode('d'), mode('d/f'), mode('d/n'), mode('deep'), mode('deep/er')]).to.deep.equal([0o2775, 0o666, 0o666, 0o755, 0o755]);
      } finally {
        process.umask(old);
      }
    });

    it('replaces entries of another type and merges directories', async () => {
      const dest = path.join(tmp, 'dest');
      fs.mkdirSync(path.join(dest, 'x'), { recursive: true });
      fs.writeFileSync(path.join(dest, 'x/inner'), 'i');
      fs.writeFileSync(path.join(dest, 'y'), 'y');
      fs.mkdirSync(path.join(dest, 'z'));
      fs.writeFileSync(path.join(dest, 'z/old'), 'old');
      fs.writeFileSync(path.join(dest, 'f'), 'old');
      fs.linkSync(path.join(dest, 'f'), path.join(dest, 'f2'));
      fs.symlinkSync('z', path.join(dest, 's'));
      await unpack(await packTar([
        { name: 'x', data: 'now a file' },
        { name: 'y/', type: 'directory' },
        { name: 'y/child', data: 'c' },
        { name: 'z/', type: 'directory', mode: 0o700, uid: 9, gid: 9 },
        { name: 'z/new', data: 'new' },
        { name: 'f', data: 'new content' },
        { name: 's/', type: 'directory' },
        { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 },
        { name: 'dev', data: 'a device replaced in the same archive' },
      ]), dest);
      expect(fs.readFileSync(path.join(dest, 'x'), 'utf8')).to.equal('now a file');
      expect(fs.readdirSync(path.join(dest, 'y'))).to.deep.equal(['child']);
      expect(fs.readdirSync(path.join(dest, 'z')).sort()).to.deep.equal(['new', 'old']);
      expect(fs.lstatSync(path.join(dest, 'z'))).to.include({ uid: 9, gid: 9 });
      expect(fs.lstatSync(path.join(dest, 'z')).mode & 0o7777).to.equal(0o700);
      expect(fs.readFileSync(path.join(dest, 'f'), 'utf8')).to.equal('new content');
      expect(fs.readFileSync(path.join(dest, 'f2'), 'utf8')).to.equal('old'); // the old hardlink is not written through
      expect(fs.lstatSync(path.join(dest, 's')).isDirectory()).to.equal(true);
      expect(fs.readFileSync(path.join(dest, 'dev'), 'utf8')).to.match(/^a device/);
    });

    it('refuses to write under a device node', async () => {
      const dest = path.join(tmp, 'dest');
      let err: unknown;
      try {
        await unpack(await packTar([{ name: 'fifo', type: 'fifo' }, { name: 'fifo/under', data: 'x' }]), dest);
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error).with.property('message').that.match(/not a directory/);
    });

    it('reads xattrs from tar-stream PAX records and drops forged overlay ones', async () => {
      const dest = path.join(tmp, 'dest');
      await unpack(await packTar([
        { name: 'f', data: 'f', pax: { 'SCHILY.xattr.user.a': 'b', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
        { name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } },
        { name: 'g', data: 'g', pax: { 'LIBARCHIVE.xattr.user.sp%20ace': Buffer.from([1, 2, 0xff]).toString('base64') } },
      ]), dest);
      const x = await getXattrsTree(dest);
      const want = new Map<string, Xattrs>([
        [path.join(dest, 'f'), { 'user.a': Buffer.from('b') }],
        [path.join(dest, 'g'), { 'user.sp ace': Buffer.from([1, 2, 0xff]) }],
      ]);
      expect(x).to.deep.equal(want);
    });
  });
});
