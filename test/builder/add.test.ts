import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import tar from 'tar-stream';
import { add, type AddOptions } from '../../lib/builder/add.js';
import { list, mount } from '../../lib/builder/containers.js';
import { commit } from '../../lib/commit/commit.js';
import { from } from '../../lib/builder/from.js';
import { loadRecord, saveRecord } from '../../lib/builder/records.js';
import { main } from '../../lib/cli/main.js';
import { Store } from '../../lib/store/store.js';
import { isMountPoint } from '../../lib/mount/mountinfo.js';
import { getXattrs, setXattrs } from '../../lib/store/xattr.js';
import { tempRoot } from '../helpers.js';

const MTIME = new Date('2020-02-02T02:02:02Z');
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

async function tarOf(entries: { name: string; data?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; mode?: number; uid?: number; gid?: number }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const h = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), mtime: MTIME, uid: e.uid ?? 0, gid: e.gid ?? e.uid ?? 0, linkname: e.linkname };
    if (e.data !== undefined) pack.entry(h, e.data);
    else pack.entry(h);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The error a promise rejects with, or undefined if it resolves. */
async function failure(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('copy and add (lib/builder/add.ts, real overlay)', function () {
  let root: string;
  let cleanup: () => void;
  let store: Store;
  let fx: string; // fixtures on the host
  let server: http.Server;
  let base: string; // http://127.0.0.1:port
  let tgz: Buffer;

  /** A new scratch container, mounted (so add leaves it mounted), and its rootfs. */
  async function fresh(): Promise<{ name: string; rootfs: string }> {
    const rec = await from(store, 'scratch');
    return { name: rec.name, rootfs: (await mount(store, rec.name)).path };
  }

  function copy(name: string, sources: string[], dest: string, opts: Partial<AddOptions> = {}) {
    return add(store, name, sources, dest, { extract: false, ...opts });
  }

  const f = (p: string) => path.join(fx, p);

  before(async function () {
    ({ root, cleanup } = tempRoot('hod-add-test-'));
    store = Store.open({ root: path.join(root, 'store'), storageDriver: 'overlay' });
    fx = path.join(root, 'fx');
    fs.mkdirSync(fx);
    fs.writeFileSync(f('a.txt'), 'alpha\n');
    fs.chmodSync(f('a.txt'), 0o640);
    fs.chownSync(f('a.txt'), 1234, 1234);
    fs.utimesSync(f('a.txt'), MTIME, MTIME);
    fs.writeFileSync(f('b.txt'), 'beta\n');
    fs.writeFileSync(f('.hidden.txt'), 'hidden\n');
    fs.writeFileSync(f('c.log'), 'log\n');
    fs.symlinkSync('a.txt', f('toplink'));
    // a directory with a symlink, a hard link pair and an executable
    fs.mkdirSync(f('d/sub'), { recursive: true });
    fs.writeFileSync(f('d/sub/f'), 'eff\n');
    fs.linkSync(f('d/sub/f'), f('d/hl'));
    fs.symlinkSync('sub/f', f('d/link'));
    fs.writeFileSync(f('d/run.sh'), '#!/bin/sh\n');
    fs.chmodSync(f('d/run.sh'), 0o4755);
    fs.chmodSync(f('d/sub'), 0o750);
    fs.utimesSync(f('d/sub'), MTIME, MTIME);
    // archives
    const plain = await tarOf([
      { name: 'pkg/', type: 'directory' },
      { name: 'pkg/x', data: 'ex\n', uid: 42, gid: 43 },
      { name: 'pkg/l', type: 'symlink', linkname: 'x' },
    ]);
    tgz = zlib.gzipSync(plain);
    fs.writeFileSync(f('arch.tar'), plain);
    fs.writeFileSync(f('arch.tar.gz'), tgz);
    fs.writeFileSync(f('arch.tar.bz2'), execFileSync('bzip2', ['-c'], { input: plain }));
    fs.writeFileSync(f('arch.tar.xz'), execFileSync('xz', ['-c'], { input: plain }));
    fs.writeFileSync(f('notar.gz'), zlib.gzipSync('just text\n'));
    // a context with an ignore file
    fs.mkdirSync(f('ctx/docs'), { recursive: true });
    fs.mkdirSync(f('ctx/build/keep'), { recursive: true });
    fs.mkdirSync(f('ctx/src'), { recursive: true });
    for (const p of ['README.md', 'keep.md', 'docs/guide.md', 'build/out.o', 'build/keep/me.txt', 'src/main.c', 'src/x.tmp', 'top.tmp', 'app.conf']) fs.writeFileSync(f(`ctx/${p}`), p + '\n');
    fs.writeFileSync(f('ignore'), '# comment\n*.md\n!keep.md\nbuild\n!build/keep\n**/*.tmp\n');
    fs.symlinkSync('/etc/passwd', f('ctx/abs-link')); // resolves inside the context when a source

    server = http.createServer((req, res) => {
      if (req.url === '/files/hello.txt') {
        res.writeHead(200, { 'Last-Modified': LAST_MODIFIED, 'Content-Type': 'text/plain' });
        res.end('hello from http\n');
      } else if (req.url === '/files/pkg.tar.gz') {
        res.writeHead(200, { 'Content-Type': 'application/gzip' });
        res.end(tgz);
      } else if (req.url === '/redirect') {
        res.writeHead(302, { Location: '/files/hello.txt' });
        res.end();
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    cleanup();
  });

  it('copies a single file to a file path, as 0:0 with its mode and mtime, creating parents', async function () {
    const c = await fresh();
    const res = await copy(c.name, [f('a.txt')], '/opt/app/b.txt');
    const st = fs.lstatSync(path.join(c.rootfs, 'opt/app/b.txt'));
    expect(fs.readFileSync(path.join(c.rootfs, 'opt/app/b.txt'), 'utf8')).to.equal('alpha\n');
    expect(st.mode & 0o7777).to.equal(0o640);
    expect([st.uid, st.gid]).to.deep.equal([0, 0]);
    expect(st.mtime.getTime()).to.equal(MTIME.getTime());
    const parent = fs.statSync(path.join(c.rootfs, 'opt/app'));
    expect(parent.mode & 0o7777).to.equal(0o755);
    expect(res.contentType).to.equal('file');
    expect(res.digest).to.match(/^[0-9a-f]{64}$/);
  });

  it('copies a file into an existing directory, and over an existing file', async function () {
    const c = await fresh();
    fs.mkdirSync(path.join(c.rootfs, 'etc'));
    await copy(c.name, [f('a.txt')], '/etc');
    expect(fs.readFileSync(path.join(c.rootfs, 'etc/a.txt'), 'utf8')).to.equal('alpha\n');
    await copy(c.name, [f('b.txt')], '/etc/a.txt');
    expect(fs.readFileSync(path.join(c.rootfs, 'etc/a.txt'), 'utf8')).to.equal('beta\n');
  });

  it('copies a directory\'s contents, not the directory, keeping modes, symlinks and hard links', async function () {
    const c = await fresh();
    const res = await copy(c.name, [f('d')], '/dd');
    const r = (p: string) => path.join(c.rootfs, 'dd', p);
    expect(fs.existsSync(r('d'))).to.equal(false);
    expect(fs.readFileSync(r('sub/f'), 'utf8')).to.equal('eff\n');
    expect(fs.lstatSync(r('link')).isSymbolicLink()).to.equal(true);
    expect(fs.readlinkSync(r('link'))).to.equal('sub/f');
    expect(fs.statSync(r('hl')).ino).to.equal(fs.statSync(r('sub/f')).ino);
    expect(fs.statSync(r('sub/f')).nlink).to.equal(2);
    expect(fs.statSync(r('run.sh')).mode & 0o7777).to.equal(0o4755);
    const sub = fs.statSync(r('sub'));
    expect(sub.mode & 0o7777).to.equal(0o750);
    expect(sub.mtime.getTime()).to.equal(MTIME.getTime());
    expect(res.contentType).to.equal('dir');
  });

  it('copies several sources into a directory ending in "/", created if missing', async function () {
    const c = await fresh();
    const res = await copy(c.name, [f('a.txt'), f('b.txt'), f('d')], '/multi/');
    expect(fs.readdirSync(path.join(c.rootfs, 'multi')).sort()).to.deep.equal(['a.txt', 'b.txt', 'hl', 'link', 'run.sh', 'sub']);
    expect(res.contentType).to.equal('multi');
  });

  it('expands globs (dotfiles included) and needs a directory for several matches', async function () {
    const c = await fresh();
    await copy(c.name, [f('*.txt')], '/g/');
    expect(fs.readdirSync(path.join(c.rootfs, 'g')).sort()).to.deep.equal(['.hidden.txt', 'a.txt', 'b.txt']);
    let err = await failure(copy(c.name, [f('*.txt')], '/g2'));
    expect(err?.message).to.match(/directory/);
    err = await failure(copy(c.name, [f('*.nothing')], '/g3/'));
    expect(err?.message).to.contain('*.nothing');
  });

  it('keeps security.capability and user.* xattrs, drops others, even with --chown', async function () {
    const dir = path.join(root, 'xa');
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'bin/ping'), 'elf');
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_raw
    await setXattrs(path.join(dir, 'bin/ping'), { 'security.capability': cap, 'user.note': Buffer.from('hi'), 'trusted.other': Buffer.from('x') });
    await setXattrs(path.join(dir, 'bin'), { 'user.dir': Buffer.from('d') });
    const c = await fresh();
    await copy(c.name, [dir], '/xa/', { chown: '10:10' });
    const got = await getXattrs(path.join(c.rootfs, 'xa/bin/ping'));
    expect(got['security.capability']?.equals(cap)).to.equal(true);
    expect(got['user.note']?.toString()).to.equal('hi');
    expect(got['trusted.other']).to.equal(undefined);
    expect((await getXattrs(path.join(c.rootfs, 'xa/bin')))['user.dir']?.toString()).to.equal('d');
  });

  it('follows a symlink named as the source', async function () {
    const c = await fresh();
    await copy(c.name, [f('toplink')], '/tl');
    const st = fs.lstatSync(path.join(c.rootfs, 'tl'));
    expect(st.isFile()).to.equal(true);
    expect(fs.readFileSync(path.join(c.rootfs, 'tl'), 'utf8')).to.equal('alpha\n');
  });

  it('sets ownership with --chown by number, including created directories', async function () {
    const c = await fresh();
    await copy(c.name, [f('d')], '/own/sub/', { chown: '1000' });
    for (const p of ['own', 'own/sub', 'own/sub/sub', 'own/sub/sub/f', 'own/sub/link']) {
      const st = fs.lstatSync(path.join(c.rootfs, p));
      expect([p, st.uid, st.gid]).to.deep.equal([p, 1000, 1000]);
    }
    await copy(c.name, [f('a.txt')], '/n2', { chown: '7:8' });
    const st = fs.statSync(path.join(c.rootfs, 'n2'));
    expect([st.uid, st.gid]).to.deep.equal([7, 8]);
  });

  it('resolves --chown names in the container\'s /etc/passwd and /etc/group', async function () {
    const c = await fresh();
    fs.mkdirSync(path.join(c.rootfs, 'etc'));
    fs.writeFileSync(path.join(c.rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n');
    fs.writeFileSync(path.join(c.rootfs, 'etc/group'), 'root:x:0:\nstaff:x:50:app\n');
    await copy(c.name, [f('a.txt')], '/u1', { chown: 'app' });
    await copy(c.name, [f('a.txt')], '/u2', { chown: 'app:staff' });
    await copy(c.name, [f('a.txt')], '/u3', { chown: '5:staff' });
    const own = (p: string) => { const st = fs.statSync(path.join(c.rootfs, p)); return [st.uid, st.gid]; };
    expect(own('u1')).to.deep.equal([1001, 1002]);
    expect(own('u2')).to.deep.equal([1001, 50]);
    expect(own('u3')).to.deep.equal([5, 50]);
    let err = await failure(copy(c.name, [f('a.txt')], '/u4', { chown: 'nobody' }));
    expect(err?.message).to.contain('"nobody"');
  });

  it('sets modes with --chmod, on files and directories', async function () {
    const c = await fresh();
    await copy(c.name, [f('d')], '/m/', { chmod: '0711' });
    expect(fs.statSync(path.join(c.rootfs, 'm/sub/f')).mode & 0o7777).to.equal(0o711);
    expect(fs.statSync(path.join(c.rootfs, 'm/sub')).mode & 0o7777).to.equal(0o711);
    let err = await failure(copy(c.name, [f('a.txt')], '/m/x', { chmod: 'rwx' }));
    expect(err?.message).to.contain('--chmod');
  });

  for (const ext of ['tar', 'tar.gz', 'tar.bz2', 'tar.xz']) {
    it(`unpacks a local .${ext} with add, copies it as a file with copy`, async function () {
      const c = await fresh();
      await add(store, c.name, [f(`arch.${ext}`)], '/x', { extract: true });
      expect(fs.readFileSync(path.join(c.rootfs, 'x/pkg/x'), 'utf8')).to.equal('ex\n');
      expect(fs.readlinkSync(path.join(c.rootfs, 'x/pkg/l'))).to.equal('x');
      const st = fs.statSync(path.join(c.rootfs, 'x/pkg/x'));
      expect([st.uid, st.gid]).to.deep.equal([42, 43]); // the archive's owners unless --chown, as buildah 1.28 does
      expect(st.mtime.getTime()).to.equal(MTIME.getTime());
      await copy(c.name, [f(`arch.${ext}`)], '/y/');
      expect(fs.readFileSync(path.join(c.rootfs, `y/arch.${ext}`)).equals(fs.readFileSync(f(`arch.${ext}`)))).to.equal(true);
    });
  }

  it('does not unpack a compressed file that is not a tar archive; honours --chown and --chmod when unpacking', async function () {
    const c = await fresh();
    await add(store, c.name, [f('notar.gz')], '/z/', { extract: true });
    expect(fs.readFileSync(path.join(c.rootfs, 'z/notar.gz')).equals(fs.readFileSync(f('notar.gz')))).to.equal(true);
    await add(store, c.name, [f('arch.tar.gz')], '/w', { extract: true, chown: '9:9', chmod: '600' });
    const st = fs.lstatSync(path.join(c.rootfs, 'w/pkg/x'));
    expect([st.uid, st.gid, st.mode & 0o7777]).to.deep.equal([9, 9, 0o600]);
    expect(fs.lstatSync(path.join(c.rootfs, 'w/pkg/l')).isSymbolicLink()).to.equal(true);
  });

  it('downloads a URL into a directory, named from the URL, mode 0600, mtime from Last-Modified', async function () {
    const c = await fresh();
    const res = await add(store, c.name, [`${base}/files/hello.txt`], '/dl/', { extract: true });
    const p = path.join(c.rootfs, 'dl/hello.txt');
    expect(fs.readFileSync(p, 'utf8')).to.equal('hello from http\n');
    const st = fs.statSync(p);
    expect(st.mode & 0o7777).to.equal(0o600);
    expect([st.uid, st.gid]).to.deep.equal([0, 0]);
    expect(st.mtime.getTime()).to.equal(Date.parse(LAST_MODIFIED));
    // buildah's digest of a URL: the sha256 of the bytes
    expect(res.digest).to.equal(crypto.createHash('sha256').update('hello from http\n').digest('hex'));
    expect(res.contentType).to.equal('');
  });

  it('saves a URL as the destination file, never unpacks it, follows redirects, fails on 404', async function () {
    const c = await fresh();
    await add(store, c.name, [`${base}/files/pkg.tar.gz`], '/opt/pkg.tgz', { extract: true });
    expect(fs.readFileSync(path.join(c.rootfs, 'opt/pkg.tgz')).equals(tgz)).to.equal(true);
    expect(fs.statSync(path.join(c.rootfs, 'opt/pkg.tgz')).mtime.getTime()).to.equal(0);
    await add(store, c.name, [`${base}/redirect`], '/r', { extract: true, chmod: '644' });
    expect(fs.readFileSync(path.join(c.rootfs, 'r'), 'utf8')).to.equal('hello from http\n');
    expect(fs.statSync(path.join(c.rootfs, 'r')).mode & 0o7777).to.equal(0o644);
    let err = await failure(add(store, c.name, [`${base}/missing`], '/m', { extract: true }));
    expect(err?.message).to.contain('404');
  });

  it('applies an ignore file relative to --contextdir, with "!" exceptions and "**"', async function () {
    const c = await fresh();
    await copy(c.name, ['.'], '/ig/', { contextDir: f('ctx'), ignoreFile: f('ignore') });
    const all: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const n of fs.readdirSync(d).sort()) {
        const r = rel ? `${rel}/${n}` : n;
        all.push(r);
        if (fs.lstatSync(path.join(d, n)).isDirectory()) walk(path.join(d, n), r);
      }
    };
    walk(path.join(c.rootfs, 'ig'), '');
    expect(all.sort()).to.deep.equal(['abs-link', 'app.conf', 'build', 'build/keep', 'build/keep/me.txt', 'docs', 'docs/guide.md', 'keep.md', 'src', 'src/main.c'].sort());
    // "*.md" is for the top level only (Docker's rule), so docs/guide.md stays
    // an excluded source named on its own is an error
    let err = await failure(copy(c.name, ['README.md'], '/ig2/', { contextDir: f('ctx'), ignoreFile: f('ignore') }));
    expect(err?.message).to.contain('README.md').and.contain('filtered out');
  });

  it('reads sources inside --contextdir: absolute paths and symlinks stay in it, "../x" is refused', async function () {
    const c = await fresh();
    await copy(c.name, ['/app.conf'], '/ctxabs', { contextDir: f('ctx') });
    expect(fs.readFileSync(path.join(c.rootfs, 'ctxabs'), 'utf8')).to.equal('app.conf\n');
    let err = await failure(copy(c.name, ['abs-link'], '/p', { contextDir: f('ctx') }));
    expect(err?.message).to.contain('abs-link'); // /etc/passwd of the context, which does not exist
    err = await failure(copy(c.name, ['../a.txt'], '/x', { contextDir: f('ctx') }));
    expect(err?.message).to.contain('../a.txt').and.contain('outside');
    expect(fs.existsSync(path.join(c.rootfs, 'x'))).to.equal(false);
  });

  it('names a missing source in its error', async function () {
    const c = await fresh();
    let err = await failure(copy(c.name, [f('no-such-file')], '/'));
    expect(err?.message).to.contain('no-such-file').and.contain('no such file');
  });

  it('refuses several sources to a destination that is not a directory', async function () {
    const c = await fresh();
    fs.writeFileSync(path.join(c.rootfs, 'afile'), 'x');
    for (const dest of ['/afile', '/afile/', '/newname']) {
      let err = await failure(copy(c.name, [f('a.txt'), f('b.txt')], dest));
      expect(err, dest).to.be.instanceOf(Error);
      expect(err!.message).to.match(/directory/);
    }
    expect(fs.readFileSync(path.join(c.rootfs, 'afile'), 'utf8')).to.equal('x');
    expect(fs.existsSync(path.join(c.rootfs, 'newname'))).to.equal(false);
  });

  it('resolves a destination symlink inside the container, never on the host', async function () {
    const c = await fresh();
    fs.mkdirSync(path.join(c.rootfs, 'etc'));
    fs.symlinkSync('/etc', path.join(c.rootfs, 'cfg'));
    fs.symlinkSync('../../../../../../../../etc', path.join(c.rootfs, 'up'));
    const tag = `hod-add-test-${crypto.randomBytes(4).toString('hex')}`;
    await copy(c.name, [f('a.txt')], `/cfg/${tag}`);
    await copy(c.name, [f('b.txt')], `/up/${tag}.2`);
    await copy(c.name, [f('d')], '/cfg/');
    expect(fs.readFileSync(path.join(c.rootfs, 'etc', tag), 'utf8')).to.equal('alpha\n');
    expect(fs.readFileSync(path.join(c.rootfs, 'etc', `${tag}.2`), 'utf8')).to.equal('beta\n');
    expect(fs.existsSync(path.join(c.rootfs, 'etc/sub/f'))).to.equal(true);
    expect(fs.existsSync(`/etc/${tag}`)).to.equal(false);
    expect(fs.existsSync(`/etc/${tag}.2`)).to.equal(false);
    expect(fs.lstatSync(path.join(c.rootfs, 'cfg')).isSymbolicLink()).to.equal(true);
  });

  it('resolves a relative destination from the WorkingDir', async function () {
    const c = await fresh();
    const rec = loadRecord(store, c.name);
    rec.image.config.WorkingDir = '/work';
    saveRecord(store, rec);
    await copy(c.name, [f('a.txt')], 'rel/');
    await copy(c.name, [f('b.txt')], '');
    expect(fs.existsSync(path.join(c.rootfs, 'work/rel/a.txt'))).to.equal(true);
    expect(fs.existsSync(path.join(c.rootfs, 'work/b.txt'))).to.equal(true);
  });

  it('copies --from another container, keeping ownership', async function () {
    const src = await fresh();
    fs.mkdirSync(path.join(src.rootfs, 'data'));
    fs.writeFileSync(path.join(src.rootfs, 'data/owned'), 'o\n');
    fs.chownSync(path.join(src.rootfs, 'data/owned'), 33, 44);
    const c = await fresh();
    await copy(c.name, ['/data'], '/got/', { from: src.name });
    const st = fs.statSync(path.join(c.rootfs, 'got/owned'));
    expect([st.uid, st.gid]).to.deep.equal([33, 44]);
  });

  it('copies --from an image through a temporary container, removed afterwards', async function () {
    const src = await fresh();
    fs.mkdirSync(path.join(src.rootfs, 'srv'));
    fs.writeFileSync(path.join(src.rootfs, 'srv/img.txt'), 'from image\n');
    fs.chownSync(path.join(src.rootfs, 'srv/img.txt'), 5, 6);
    await commit(store, src.name, 'add-test-src:1');
    const before = list(store).length;
    const c = await fresh();
    await copy(c.name, ['/srv/img.txt'], '/i/', { from: 'add-test-src:1' });
    const st = fs.statSync(path.join(c.rootfs, 'i/img.txt'));
    expect(fs.readFileSync(path.join(c.rootfs, 'i/img.txt'), 'utf8')).to.equal('from image\n');
    expect([st.uid, st.gid]).to.deep.equal([5, 6]);
    expect(list(store).length).to.equal(before + 1); // just c
    const err = await failure(copy(c.name, ['/x'], '/i/', { from: 'no-such-thing' }));
    expect(err?.message).to.contain('no-such-thing');
  });

  it('keeps file names that are not UTF-8', async function () {
    const dir = path.join(root, 'latin1');
    fs.mkdirSync(dir);
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "caf\xe9"
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), name]), 'x');
    const c = await fresh();
    await copy(c.name, [dir], '/l1/');
    const names = fs.readdirSync(path.join(c.rootfs, 'l1'), { encoding: 'buffer' });
    expect(names.map((n) => n.toString('hex'))).to.deep.equal([name.toString('hex')]);
  });

  it('unmounts the container afterwards if it was not mounted before', async function () {
    const rec = await from(store, 'scratch');
    await copy(rec.name, [f('a.txt')], '/a');
    expect(loadRecord(store, rec.name).mountPoint).to.equal(undefined);
    expect(isMountPoint(path.join(store.paths.container(rec.id), 'merged'))).to.equal(false);
    const m = await mount(store, rec.name);
    expect(fs.readFileSync(path.join(m.path, 'a'), 'utf8')).to.equal('alpha\n');
  });

  it('gives the same digest for the same content whatever its mtime', async function () {
    const c = await fresh();
    const one = await copy(c.name, [f('d')], '/d1/');
    fs.utimesSync(f('d/run.sh'), new Date(), new Date());
    const two = await copy(c.name, [f('d')], '/d2/');
    expect(two.digest).to.equal(one.digest);
    fs.writeFileSync(f('b2.txt'), 'beta\n');
    expect((await copy(c.name, [f('b.txt')], '/b1')).digest).to.equal((await copy(c.name, [f('b2.txt')], '/b1')).digest);
  });

  it('works from the CLI: copy prints the digest, --quiet prints nothing, add unpacks', async function () {
    const rec = await from(store, 'scratch');
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    const rootArgs = ['--root', path.join(root, 'store')];
    expect(await main([...rootArgs, 'copy', rec.name, f('a.txt'), f('b.txt'), '/cli/'], io), err.join('\n')).to.equal(0);
    expect(out).to.have.length(1);
    expect(out[0]).to.match(/^[0-9a-f]{64}$/);
    expect(await main([...rootArgs, 'copy', '-q', '--chown', '5:6', rec.name, f('a.txt'), '/cli/q'], io), err.join('\n')).to.equal(0);
    expect(out).to.have.length(1);
    expect(await main([...rootArgs, 'add', '--quiet', rec.name, f('arch.tar.gz'), '/cli/x'], io), err.join('\n')).to.equal(0);
    expect(await main([...rootArgs, 'copy', rec.name, f('a.txt'), f('b.txt'), '/cli/q'], io)).to.equal(125);
    expect(err.join('\n')).to.match(/directory/);
    const m = await mount(store, rec.name);
    expect(fs.readdirSync(path.join(m.path, 'cli')).sort()).to.deep.equal(['a.txt', 'b.txt', 'q', 'x']);
    expect(fs.statSync(path.join(m.path, 'cli/q')).uid).to.equal(5);
    expect(fs.existsSync(path.join(m.path, 'cli/x/pkg/x'))).to.equal(true);
  });
});
