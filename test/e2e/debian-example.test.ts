import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { REPO, hodOk, tempRoot } from '../helpers.js';
import { keepDebianBase, requireMirror } from './debian-fixture.js';

/**
 * scripts/examples/debian-nginx.sh as a user runs it, in a fresh store: debootstrap into a scratch
 * container, apt-get over the private network, commit, and nginx on the host's network answering curl.
 */
describe('example: a Debian image with nginx, from debootstrap (scripts/examples/debian-nginx.sh)', function () {
  this.timeout(300_000);
  let store: ReturnType<typeof tempRoot>;

  before(async () => {
    await requireMirror();
    store = tempRoot();
  });
  after(() => store?.cleanup());

  it('builds the image, serves its page to curl on 127.0.0.1, stops it and leaves no container', function () {
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'examples', 'debian-nginx.sh')], {
      encoding: 'utf8', env: { ...process.env, HOD_ROOT: store.root }, timeout: 280_000,
    });
    expect(r.status, `the script failed:\n${r.stderr}`).to.equal(0);
    expect(r.stdout.trim()).to.equal('served by nginx from a Debian image hod built');
    expect(r.stderr).to.match(/serving on 127\.0\.0\.1:\d+/).and.include('hod run exited 0').and.include("the run's container is gone");

    expect(hodOk(store.root, ['containers', '-q'])).to.equal('');
    const names = hodOk(store.root, ['images', '--format', '{{.Name}}:{{.Tag}}']).split('\n');
    expect(names).to.include.members(['localhost/debian:bookworm', 'localhost/nginx:bookworm']);
    const config = JSON.parse(hodOk(store.root, ['inspect', '--format', '{{json .OCIv1.config}}', 'nginx:bookworm']));
    expect(config.Cmd).to.deep.equal(['nginx', '-g', 'daemon off;']);
    expect(config.ExposedPorts).to.have.property('80');
    // nginx's layer is what apt-get added, on top of the Debian one
    const layers = JSON.parse(hodOk(store.root, ['inspect', '--format', '{{json .OCIv1.rootfs.diff_ids}}', 'nginx:bookworm']));
    const base = JSON.parse(hodOk(store.root, ['inspect', '--format', '{{json .OCIv1.rootfs.diff_ids}}', 'debian:bookworm']));
    expect(layers).to.have.length(2);
    expect(layers[0]).to.equal(base[0]);
    // the base carries Debian, not the host's resolver or device nodes
    const c = hodOk(store.root, ['from', 'debian:bookworm']);
    const mnt = hodOk(store.root, ['mount', c]);
    expect(fs.readFileSync(path.join(mnt, 'etc', 'debian_version'), 'utf8')).to.match(/^12\./);
    expect(fs.readdirSync(path.join(mnt, 'dev'))).to.deep.equal([]);
    expect(fs.existsSync(path.join(mnt, 'etc', 'resolv.conf'))).to.equal(false);
    hodOk(store.root, ['rm', c]);

    keepDebianBase(store.root);
  });
});
