import { expect } from 'chai';
import { describeTree, hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { startRegistry, type Registry } from '../registry/server.js';

const NO_TLS = '--tls-verify=false';

function treeOfImage(root: string, image: string): Map<string, string> {
  const c = hodOk(root, ['from', image]);
  const tree = describeTree(hodOk(root, ['mount', c]));
  hodOk(root, ['rm', c]);
  return tree;
}

function layerTypes(ref: string): string[] {
  const m = JSON.parse(sh(`skopeo inspect --raw ${NO_TLS} docker://${ref}`)) as { layers: { mediaType: string }[] };
  return m.layers.map((l) => l.mediaType);
}

describe('push --compression-format (a real registry on 127.0.0.1)', function () {
  this.timeout(120_000);
  let reg: Registry;
  let a: ReturnType<typeof tempRoot>;
  let b: ReturnType<typeof tempRoot>;

  before(async () => {
    reg = await startRegistry();
    a = tempRoot();
    makeBusybox(a.root, 'base:1');
    const c = hodOk(a.root, ['from', 'base:1']);
    const m = hodOk(a.root, ['mount', c]);
    sh(`set -e; cd '${m}'; mkdir -p srv; head -c 2000000 /dev/urandom > srv/rand; seq 1 200000 > srv/seq; ln -s seq srv/link`);
    hodOk(a.root, ['commit', '--rm', c, 'app:1']);
    b = tempRoot();
  });
  after(async () => {
    await reg.stop();
    a.cleanup();
    b.cleanup();
  });

  it('pushes zstd layers that skopeo sees as zstd and hod pulls back to the same tree; a second push reuses them', function () {
    const dest = `${reg.host}/team/app:zstd`;
    const r = hod(a.root, ['push', NO_TLS, '--compression-format', 'zstd', 'app:1', `docker://${dest}`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(layerTypes(dest)).to.deep.equal(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    // the config is the stored one: the image id survives recompression
    const id = hodOk(a.root, ['images', '-q', '--no-trunc', 'app:1']).replace('sha256:', '');
    expect(hodOk(b.root, ['pull', '-q', NO_TLS, dest])).to.equal(id);
    expect(treeOfImage(b.root, dest)).to.deep.equal(treeOfImage(a.root, 'app:1'));

    const again = hod(a.root, ['push', NO_TLS, '--compression-format', 'zstd', 'app:1', `docker://${reg.host}/team/other:zstd`]);
    expect(again.status, again.stderr).to.equal(0);
    expect(JSON.parse(sh(`skopeo inspect --raw ${NO_TLS} docker://${reg.host}/team/other:zstd`))).to.deep.equal(JSON.parse(sh(`skopeo inspect --raw ${NO_TLS} docker://${dest}`)));
  });

  it('recompresses a pulled zstd image back to gzip', function () {
    const src = `${reg.host}/team/app:zstd`;
    hodOk(b.root, ['pull', '-q', NO_TLS, src]);
    const back = `${reg.host}/team/app:gzip-again`;
    hodOk(b.root, ['push', '-q', NO_TLS, '--compression-format', 'gzip', src, `docker://${back}`]);
    expect(layerTypes(back)).to.deep.equal(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
    const c = tempRoot();
    try {
      hodOk(c.root, ['pull', '-q', NO_TLS, back]);
      expect(treeOfImage(c.root, back)).to.deep.equal(treeOfImage(a.root, 'app:1'));
    } finally {
      c.cleanup();
    }
  });

  it('refuses zstd for a Docker-format push, and an unknown compression, touching nothing', function () {
    const d = hod(a.root, ['push', NO_TLS, '--format', 'docker', '--compression-format', 'zstd', 'app:1', `docker://${reg.host}/team/app:docker-zstd`]);
    expect(d.status).to.equal(125);
    expect(d.stderr).to.match(/Docker images cannot carry zstd layers/);
    const u = hod(a.root, ['push', NO_TLS, '--compression-format', 'lz4', 'app:1', `docker://${reg.host}/team/app:lz4`]);
    expect(u.status).to.equal(125);
    expect(u.stderr).to.match(/--compression-format: "lz4" is not gzip or zstd/);
    expect(hod(a.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/team/app:plain`]).status).to.equal(0);
  });
});
