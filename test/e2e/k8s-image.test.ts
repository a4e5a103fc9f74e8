import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { REPO, hod, hodOk, makeBusybox, tempRoot } from '../helpers.js';
import { keepDebianBase, requireMirror, useDebianBase } from './debian-fixture.js';

/**
 * Issue 6, hod builds its own image: scripts/examples/k8s/build-base.sh makes a node:20-bookworm-slim
 * stand-in (this machine cannot reach docker.io) on the Debian base the debian-nginx example kept, or its
 * own debootstrap when run alone; `hod bud` builds scripts/examples/k8s/Containerfile on it from this
 * checkout; and the image, run as its build user, runs hod, down to a build with a RUN step.
 */
describe('example: hod builds its own image (scripts/examples/k8s/)', function () {
  this.timeout(300_000);
  let store: ReturnType<typeof tempRoot>;
  let work: string;
  let hadBase: boolean;

  before(async () => {
    await requireMirror();
    store = tempRoot();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-k8s-'));
    hadBase = useDebianBase(store.root);
  });
  after(() => {
    store?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('build-base.sh puts this host\'s node on Debian bookworm', function () {
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'examples', 'k8s', 'build-base.sh')], {
      encoding: 'utf8', env: { ...process.env, HOD_ROOT: store.root }, timeout: 280_000,
    });
    expect(r.status, `build-base.sh failed:\n${r.stderr}`).to.equal(0);
    expect(r.stderr).to.include(hadBase ? "on the store's debian:bookworm" : 'debootstrap --variant=minbase bookworm');
    if (!hadBase) keepDebianBase(store.root);
    const c = hodOk(store.root, ['from', 'localhost/hod-base:bookworm']);
    expect(hodOk(store.root, ['run', '--network', 'none', c, '--', 'node', '-p', 'process.version'])).to.equal(process.version);
    hodOk(store.root, ['rm', c]);
  });

  it('bud builds the Containerfile from the checkout, its apt-get steps over the private network', function () {
    const r = hod(store.root, ['bud', '--build-arg', 'BASE=localhost/hod-base:bookworm', '-f', 'scripts/examples/k8s/Containerfile', '-t', 'hod:latest', '.'], { cwd: REPO });
    expect(r.status, `bud failed:\n${r.stderr.slice(-4000)}`).to.equal(0);
    const config = JSON.parse(hodOk(store.root, ['inspect', '--format', '{{json .OCIv1.config}}', 'hod:latest']));
    expect(config.User).to.equal('build');
    expect(config.Entrypoint).to.deep.equal(['hod']);
    expect(config.Env).to.include.members(['HOD_ISOLATION=chroot', 'HOD_ROOT=/home/build/.local/share/hod']);
    // the id mappers' file capabilities went through the RUN step's commit: pods need them
    const c = hodOk(store.root, ['from', 'hod:latest']);
    const mnt = hodOk(store.root, ['mount', c]);
    expect(execFileSync('getcap', [path.join(mnt, 'usr/bin/newuidmap'), path.join(mnt, 'usr/bin/newgidmap')], { encoding: 'utf8' }))
      .to.match(/newuidmap cap_setuid=ep/).and.match(/newgidmap cap_setgid=ep/);
    expect(fs.statSync(path.join(mnt, 'usr/bin/newuidmap')).mode & 0o4000).to.equal(0);
    hodOk(store.root, ['rm', c]);
  });

  it('runs hod in the image as its build user: version, info, and a build with a RUN step', function () {
    // what the build inside gets, handed in read-only: a busybox base as an OCI layout, and a Containerfile
    makeBusybox(store.root, 'busybox:1');
    hodOk(store.root, ['push', '-q', 'busybox:1', `oci:${work}/layout:busybox`]);
    fs.mkdirSync(path.join(work, 'ctx'));
    fs.writeFileSync(path.join(work, 'ctx', 'Containerfile'), 'FROM localhost/busybox\nRUN busybox id -u > /proof && while read -r a b c; do echo "$a $b $c" >> /proof; done < /proc/self/uid_map\n');
    execFileSync('chmod', ['-R', 'a+rX', work]);
    const c = hodOk(store.root, ['from', 'hod:latest']);
    const inImage = (script: string) => hod(store.root, ['run', '-v', `${work}:/work:ro`, c, '--', 'sh', '-c', script]);

    const version = inImage('id -un; hod version');
    expect(version.status, version.stderr).to.equal(0);
    const ours = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
    expect(version.stdout).to.match(/^build\n/).and.match(new RegExp(`^Version: +${ours.replace(/\./g, '\\.')}$`, 'm')).and.include(`Node Version: ${process.version}`);

    const info = inImage('hod info');
    expect(info.status, info.stderr).to.equal(0);
    expect(JSON.parse(info.stdout).store.GraphRoot).to.equal('/home/build/.local/share/hod');
    // uid 0 in the user namespace bin/hod put it in, and still rootless
    expect(JSON.parse(info.stdout).host.rootless).to.equal(true);

    // the RUN step is root in a user namespace the image's newuidmap mapped: 0 is the build user, 1.. its range
    const build = inImage('set -e; hod pull -q oci:/work/layout:busybox >/dev/null; hod bud -q -t inner:1 /work/ctx >/dev/null; hod run "$(hod from inner:1)" -- sh -c \'while read -r l; do echo "$l"; done < /proof\'');
    expect(build.status, build.stderr).to.equal(0);
    expect(build.stdout.split('\n')).to.deep.equal(['0', '0 1000 1', '1 100000 65535']);
    hodOk(store.root, ['rm', c]);
  });
});
