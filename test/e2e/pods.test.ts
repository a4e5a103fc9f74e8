import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { BUSYBOX, REPO, hodAsync, hodOk, tempRoot } from '../helpers.js';
import { ensureUser } from '../users.js';
import { startRegistry, type Registry } from '../registry/server.js';
import { runtimeSpec } from '../../lib/run/spec.js';
import { DEFAULT_SECCOMP, seccompFor } from '../../lib/run/seccomp.js';

const USER = 'hodrootless';

/**
 * Builds inside Kubernetes-like pods, made with runc on this host: the host's root filesystem read-only, a
 * non-root uid with only the default capabilities and the default seccomp profile, the host's network (the
 * registry is on its loopback). hod builds a Dockerfile with RUN steps (--isolation chroot, in its own user
 * namespace) and pushes the result.
 */
describe('builds in pods (runc containers with a pod\'s constraints)', function () {
  this.timeout(240_000);
  let dir: string;
  let rootfs: string;
  let reg: Registry;
  let user: { uid: number; gid: number };

  before(async () => {
    user = ensureUser(USER, true);
    // not under /tmp: the pod gets a tmpfs there
    dir = fs.mkdtempSync('/var/tmp/hod-pod-');
    rootfs = fs.mkdtempSync('/var/tmp/hod-pod-root-');
    execFileSync('mount', ['--rbind', '/', rootfs]);
    execFileSync('mount', ['--make-rslave', rootfs]);
    fs.cpSync(path.join(REPO, 'bin'), path.join(dir, 'hod', 'bin'), { recursive: true });
    fs.cpSync(path.join(REPO, 'dist'), path.join(dir, 'hod', 'dist'), { recursive: true });
    fs.cpSync(path.join(REPO, 'package.json'), path.join(dir, 'hod', 'package.json'));
    // what a builder image does for pods without CAP_SYS_ADMIN: the id mappers with file capabilities
    fs.mkdirSync(path.join(dir, 'maps'));
    for (const [t, cap] of [['uid', 'cap_setuid'], ['gid', 'cap_setgid']]) {
      const f = path.join(dir, 'maps', `new${t}map`);
      fs.copyFileSync(`/usr/bin/new${t}map`, f);
      fs.chmodSync(f, 0o755);
      execFileSync('setcap', [`${cap}+ep`, f]);
    }
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
    if (rootfs) {
      spawnSync('umount', ['-R', '-l', rootfs]);
      // only ever an empty directory: never remove anything under a root that is still bound
      if (spawnSync('mountpoint', ['-q', rootfs]).status !== 0) fs.rmdirSync(rootfs);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Run `script` as the test user in a pod; `work` is its writable /work. */
  function pod(name: string, script: string, opts: { fuse?: boolean; stockMappers?: boolean; env?: string[] } = {}) {
    const work = path.join(dir, `work-${name}`);
    fs.mkdirSync(path.join(work, 'ctx'), { recursive: true });
    fs.writeFileSync(path.join(work, 'ctx', 'Dockerfile'), 'FROM busybox:1\nRUN echo built-in-a-pod > /pod && id -u > /uid\nCOPY note.txt /note.txt\n');
    fs.writeFileSync(path.join(work, 'ctx', 'note.txt'), name);
    fs.copyFileSync(BUSYBOX, path.join(work, 'busybox'));
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, work]);
    const spec = runtimeSpec({
      args: ['sh', '-c', script],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', 'HOME=/work', ...(opts.env ?? [])],
      cwd: '/work', user: { uid: user.uid, gid: user.gid, additionalGids: [], home: '/work' }, rootfs, hostname: `pod-${name}`,
      terminal: false, network: 'host',
      mounts: [
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
        { destination: '/work', type: 'bind', source: work, options: ['rbind', 'rw'] },
        { destination: '/hod', type: 'bind', source: path.join(dir, 'hod'), options: ['rbind', 'ro'] },
        ...(opts.stockMappers ? [] : ['uid', 'gid'].map((t) => ({ destination: `/usr/bin/new${t}map`, type: 'bind', source: path.join(dir, 'maps', `new${t}map`), options: ['bind', 'ro'] }))),
      ],
      seccomp: (caps) => seccompFor(DEFAULT_SECCOMP, caps),
    }) as { root: { readonly: boolean }; mounts: { type: string }[]; linux: Record<string, unknown> };
    spec.root.readonly = true;
    // a pod's cgroup is the kubelet's business; the host's cgroup tree is not ours to mount here
    spec.mounts = spec.mounts.filter((m) => m.type !== 'cgroup');
    if (opts.fuse) {
      spec.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
      spec.linux.resources = { devices: [{ allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }] };
    }
    const bundle = path.join(dir, `bundle-${name}`);
    fs.mkdirSync(bundle);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    return spawnSync('runc', ['--root', '/run/hod-runc', 'run', '--bundle', bundle, `hod-pod-test-${name}-${process.pid}`], { encoding: 'utf8' });
  }

  const build = (ref: string) => [
    'set -e',
    // a base image made in the pod (no registry to pull one from)
    "c=$(/hod/bin/hod from scratch)",
    "/hod/bin/hod unshare sh -c 'm=$(/hod/bin/hod mount '$c'); mkdir $m/bin; cp /work/busybox $m/bin/busybox; ln -s busybox $m/bin/sh'",
    '/hod/bin/hod config --env PATH=/bin $c',
    '/hod/bin/hod commit -q --rm $c busybox:1',
    '/hod/bin/hod info | grep GraphDriverName',
    '/hod/bin/hod bud --isolation chroot -t app:1 /work/ctx',
    `/hod/bin/hod push --tls-verify=false app:1 docker://${ref}`,
  ].join('\n');

  /** What the pod pushed, read back on the host. */
  async function pushed(ref: string): Promise<{ pod: string; uid: string; note: string }> {
    const t = tempRoot();
    try {
      expect((await hodAsync(t.root, ['pull', '--tls-verify=false', '-q', `docker://${ref}`])).status).to.equal(0);
      const c = hodOk(t.root, ['from', ref]);
      const m = hodOk(t.root, ['mount', c]);
      return { pod: fs.readFileSync(path.join(m, 'pod'), 'utf8'), uid: fs.readFileSync(path.join(m, 'uid'), 'utf8'), note: fs.readFileSync(path.join(m, 'note.txt'), 'utf8') };
    } finally {
      t.cleanup();
    }
  }

  it('(1) non-root, default capabilities and seccomp profile, no /dev/fuse: builds with RUN steps and pushes', async () => {
    const ref = `${reg.host}/pods/plain:1`;
    const r = pod('plain', build(ref));
    expect(r.status, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.match(/"GraphDriverName": "(overlay|vfs)"/);
    expect(await pushed(ref)).to.deep.equal({ pod: 'built-in-a-pod\n', uid: '0\n', note: 'plain' });
  });

  it('(2) with /dev/fuse, as buildah\'s documentation sets pods up: builds on fuse-overlayfs and pushes', async () => {
    const ref = `${reg.host}/pods/fuse:1`;
    const r = pod('fuse', build(ref), { fuse: true, env: ['STORAGE_DRIVER=fuse-overlayfs'] });
    expect(r.status, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include('"GraphDriverName": "fuse-overlayfs"');
    expect(await pushed(ref)).to.deep.equal({ pod: 'built-in-a-pod\n', uid: '0\n', note: 'fuse' });
  });

  it('says in one line what is missing when the id mappers are setuid and the pod has no CAP_SYS_ADMIN', () => {
    const r = pod('stock', '/hod/bin/hod from scratch', { stockMappers: true });
    expect(r.status).to.equal(125);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include('newuidmap').and.include('setcap cap_setuid+ep');
  });
});
