import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { BUSYBOX, REPO } from '../helpers.js';
import { ensureUser } from '../users.js';

const USER = 'hodrootless';
const NOSUB = 'hodnosubids';

/** Every entry of a (gzipped) layer tarball: path -> "uid:gid". */
function tarOwners(blob: string): Map<string, string> {
  const raw = fs.readFileSync(blob);
  const tar = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw;
  const out = new Map<string, string>();
  for (let off = 0; off + 512 <= tar.length;) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a: number, n: number) => h.subarray(a, a + n).toString('latin1').replace(/\0.*$/s, '');
    const name = (str(345, 155) ? `${str(345, 155)}/` : '') + str(0, 100);
    const size = parseInt(str(124, 12).trim() || '0', 8);
    if (str(156, 1) !== 'x' && str(156, 1) !== 'g') out.set(name.replace(/^\.\//, '').replace(/\/$/, ''), `${parseInt(str(108, 8), 8)}:${parseInt(str(116, 8), 8)}`);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/**
 * Rootless: an ordinary user with /etc/subuid ranges builds on their own store. hod runs from a copy of bin/
 * and dist/ that the user can read (the checkout may sit in root's home).
 */
describe('rootless (an unprivileged user the test makes)', function () {
  this.timeout(180_000);
  let dir: string;
  let uid: number;
  const as = (user: string, script: string, input?: string) => spawnSync('su', [user, '-c', script], {
    encoding: 'utf8', input, cwd: '/', env: { ...process.env, HOME: `/home/${user}`, XDG_RUNTIME_DIR: '' },
  });
  const hodAs = (user: string, args: string) => as(user, `HOD_ROOT=${dir}/store-${user} ${dir}/bin/hod ${args}`);

  before(() => {
    uid = ensureUser(USER, true).uid;
    ensureUser(NOSUB, false);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-rootless-'));
    fs.chmodSync(dir, 0o755);
    fs.cpSync(path.join(REPO, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.cpSync(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.cpSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
    fs.cpSync(BUSYBOX, path.join(dir, 'busybox'));
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    fs.mkdirSync(path.join(dir, 'ctx'));
    fs.writeFileSync(path.join(dir, 'ctx', 'Dockerfile'), [
      'FROM busybox:1',
      'COPY hello.txt /hello.txt',
      'RUN echo made-by-root > /root-file && mkdir -p /home/app && echo app > /home/app/f && chown -R 1000:1000 /home/app',
      'RUN id -u > /uid',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'ctx', 'hello.txt'), 'hello');
    execFileSync('chmod', ['-R', 'a+rX', path.join(dir, 'ctx')]);
    for (const u of [USER, NOSUB]) {
      fs.mkdirSync(path.join(dir, `store-${u}`));
      execFileSync('chown', [`${u}:`, path.join(dir, `store-${u}`)]);
    }
  });
  after(() => {
    // the user's files under dir belong to subordinate ids: remove them as root
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds a base image inside hod unshare, then bud with RUN steps; ownership maps both ways', function () {
    const base = hodAs(USER, `unshare sh -c 'set -e; c=$(${dir}/bin/hod from scratch); m=$(${dir}/bin/hod mount $c); mkdir $m/bin; cp ${dir}/busybox $m/bin/busybox; ln -s busybox $m/bin/sh; ${dir}/bin/hod config --env PATH=/bin $c; ${dir}/bin/hod commit -q --rm $c busybox:1'`);
    expect(base.status, base.stderr).to.equal(0);
    const r = hodAs(USER, `bud -t app:1 ${dir}/ctx`);
    expect(r.status, r.stderr).to.equal(0);
    const store = path.join(dir, `store-${USER}`);
    expect(fs.statSync(store).uid).to.equal(uid);

    // in the committed layers: root-made files are 0:0, the chowned ones 1000:1000
    const index = JSON.parse(fs.readFileSync(path.join(store, 'index.json'), 'utf8'));
    const entry = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'localhost/app:1');
    const blob = (d: string) => path.join(store, 'blobs', 'sha256', d.slice(7));
    const manifest = JSON.parse(fs.readFileSync(blob(entry.digest), 'utf8'));
    const owners = new Map<string, string>();
    for (const l of manifest.layers) for (const [k, v] of tarOwners(blob(l.digest))) owners.set(k, v);
    expect(owners.get('root-file')).to.equal('0:0');
    expect(owners.get('hello.txt')).to.equal('0:0');
    expect(owners.get('home/app/f')).to.equal('1000:1000');
    expect(owners.get('bin/busybox')).to.equal('0:0');

    // on the host, the same files belong to the user and to their subordinate range
    const layerFile = (rel: string) => {
      for (const l of fs.readdirSync(path.join(store, 'layers'))) {
        const p = path.join(store, 'layers', l, rel);
        if (fs.existsSync(p)) return fs.statSync(p);
      }
      throw new Error(`${rel} in no layer`);
    };
    expect(layerFile('root-file').uid).to.equal(uid);
    const sub = fs.readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`))!.split(':');
    expect(layerFile('home/app/f').uid).to.equal(Number(sub[1]) + 999);

    // RUN ran as the container's root
    const c = hodAs(USER, 'from app:1');
    const uidFile = hodAs(USER, `unshare sh -c 'cat $(${dir}/bin/hod mount ${c.stdout.trim()})/uid'`);
    expect(uidFile.stdout.trim()).to.equal('0');
    expect(hodAs(USER, `rm ${c.stdout.trim()}`).status).to.equal(0);
  });

  it('chooses the storage driver by itself, says so in info, and builds on fuse-overlayfs too', function () {
    const info = hodAs(USER, 'info');
    expect(info.status, info.stderr).to.equal(0);
    // this kernel mounts overlay in a user namespace; the choice is kept in the store
    expect(JSON.parse(info.stdout).store.GraphDriverName).to.equal('overlay');
    expect(fs.readFileSync(path.join(dir, `store-${USER}`, 'storage-driver'), 'utf8').trim()).to.equal('overlay');

    const fuseStore = path.join(dir, 'store-fuse');
    fs.mkdirSync(fuseStore);
    execFileSync('chown', [`${USER}:`, fuseStore]);
    const fuse = (args: string) => as(USER, `HOD_ROOT=${fuseStore} STORAGE_DRIVER=fuse-overlayfs ${dir}/bin/hod ${args}`);
    const base = fuse(`unshare sh -c 'set -e; c=$(${dir}/bin/hod from scratch); m=$(${dir}/bin/hod mount $c); mkdir -p $m/bin $m/d; cp ${dir}/busybox $m/bin/busybox; ln -s busybox $m/bin/sh; echo a > $m/a; echo b > $m/d/b; ${dir}/bin/hod config --env PATH=/bin $c; ${dir}/bin/hod commit -q --rm $c busybox:1'`);
    expect(base.status, base.stderr).to.equal(0);
    fs.mkdirSync(path.join(dir, 'ctx-fuse'));
    fs.writeFileSync(path.join(dir, 'ctx-fuse', 'Dockerfile'), 'FROM busybox:1\nRUN rm /a && rm -rf /d && mkdir /d && echo n > /d/n\n');
    execFileSync('chmod', ['-R', 'a+rX', path.join(dir, 'ctx-fuse')]);
    const built = fuse(`bud -t fused:1 ${dir}/ctx-fuse`);
    expect(built.status, built.stderr).to.equal(0);
    const ls = fuse(`unshare sh -c 'c=$(${dir}/bin/hod from fused:1); m=$(${dir}/bin/hod mount $c); ls $m $m/d'`);
    expect(ls.status, ls.stderr).to.equal(0);
    const out = ls.stdout.split('\n');
    expect(out).to.include('n').and.not.include('a').and.not.include('b');
    const rec = JSON.parse(fs.readFileSync(path.join(fuseStore, 'containers', fs.readdirSync(path.join(fuseStore, 'containers'))[0]!, 'builder.json'), 'utf8'));
    expect(rec.driver).to.equal('fuse-overlayfs');
  });

  it('gives a rootless run its own network through slirp4netns', function () {
    const c = hodAs(USER, 'from busybox:1').stdout.trim();
    const r = hodAs(USER, `run ${c} -- sh -c 'busybox ip -4 -o addr show tap0; busybox ip route'`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/tap0\s+inet 10\.0\.2\.100\/24/).and.include('default via 10.0.2.2');
    hodAs(USER, `rm ${c}`);
  });

  it('says in one line what to add when the user has no subordinate ids, and that mount belongs in hod unshare', function () {
    const r = hodAs(NOSUB, 'from scratch');
    expect(r.status).to.equal(125);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.include(`no subordinate uids for user "${NOSUB}" in /etc/subuid`).and.include('usermod --add-subuids');
    const m = hodAs(USER, 'mount nothing');
    expect(m.status).to.equal(125);
    expect(m.stderr).to.include('hod unshare');
  });
});
