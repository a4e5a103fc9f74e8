import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { describeTree, hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';

function treeOfImage(root: string, image: string): Map<string, string> {
  const c = hodOk(root, ['from', '--pull', 'never', image]);
  const tree = describeTree(hodOk(root, ['mount', c]));
  hodOk(root, ['rm', c]);
  return tree;
}

describe('file transports: oci: and dir:, with skopeo and umoci as the peers', function () {
  this.timeout(120_000);
  let a: ReturnType<typeof tempRoot>;
  let work: string;

  before(() => {
    a = tempRoot();
    makeBusybox(a.root, 'base:1');
    const c = hodOk(a.root, ['from', 'base:1']);
    const m = hodOk(a.root, ['mount', c]);
    sh(`set -e; cd '${m}'; mkdir -p srv; head -c 200000 /dev/urandom > srv/r; ln -s r srv/l; rm bin/sh`);
    hodOk(a.root, ['commit', '--rm', c, 'app:1']);
  });
  after(() => a.cleanup());
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-tr-'))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it('writes oci: layouts skopeo and umoci read, adding images to an existing layout', function () {
    hodOk(a.root, ['push', 'app:1', `oci:${work}/l:v1`]);
    hodOk(a.root, ['push', 'base:1', `oci:${work}/l:base`]);
    const index = JSON.parse(fs.readFileSync(path.join(work, 'l', 'index.json'), 'utf8'));
    expect(index.manifests.map((d: { annotations: Record<string, string> }) => d.annotations['org.opencontainers.image.ref.name']).sort()).to.deep.equal(['base', 'v1']);
    expect(JSON.parse(sh(`skopeo inspect oci:${work}/l:v1`)).Layers).to.have.length(2);
    sh(`umoci unpack --image ${work}/l:v1 ${work}/b >/dev/null`);
    expect(describeTree(path.join(work, 'b', 'rootfs'))).to.deep.equal(treeOfImage(a.root, 'app:1'));
  });

  it('round-trips through dir: both ways, and converts to Docker media types with --format docker', function () {
    hodOk(a.root, ['push', '--format', 'docker', 'app:1', `dir:${work}/d`]);
    expect(fs.readFileSync(path.join(work, 'd', 'version'), 'utf8')).to.equal('Directory Transport Version: 1.1\n');
    const m = JSON.parse(fs.readFileSync(path.join(work, 'd', 'manifest.json'), 'utf8'));
    expect(m.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
    expect(m.layers[0].mediaType).to.equal('application/vnd.docker.image.rootfs.diff.tar.gzip');
    sh(`skopeo copy -q dir:${work}/d dir:${work}/d2`);
    const b = tempRoot();
    try {
      const id = hodOk(b.root, ['pull', '-q', `dir:${work}/d2`]);
      expect(id).to.match(/^[0-9a-f]{64}$/);
      expect(treeOfImage(b.root, id)).to.deep.equal(treeOfImage(a.root, 'app:1'));
      const named = hodOk(b.root, ['pull', '-q', `oci:${(hodOk(a.root, ['push', 'app:1', `oci:${work}/o:v7`]), work)}/o:v7`]);
      expect(named).to.equal(hodOk(a.root, ['inspect', '--format', '{{.FromImageID}}', 'app:1']));
      expect(hodOk(b.root, ['inspect', '--format', '{{.FromImageID}}', 'localhost/v7:latest']), 'a layout ref names the image localhost/REF').to.equal(named);
    } finally {
      b.cleanup();
    }
  });

  it('pushes to and pulls from oci-archive: and docker-archive: files that skopeo reads (RepoTags as skopeo writes them)', function () {
    hodOk(a.root, ['push', 'app:1', `oci-archive:${work}/a.tar:v1`]);
    hodOk(a.root, ['push', 'app:1', `docker-archive:${work}/d.tar:app:1`]);
    expect(JSON.parse(sh(`skopeo inspect oci-archive:${work}/a.tar:v1`)).Layers).to.have.length(2);
    expect(JSON.parse(sh(`skopeo inspect docker-archive:${work}/d.tar`)).Layers).to.have.length(2);
    expect(JSON.parse(sh(`tar -xOf ${work}/d.tar manifest.json`))[0].RepoTags).to.deep.equal(['docker.io/library/app:1']);
    const b = tempRoot();
    try {
      hodOk(b.root, ['pull', '-q', `oci-archive:${work}/a.tar:v1`]);
      hodOk(b.root, ['pull', '-q', `docker-archive:${work}/d.tar:app:1`]);
      const want = treeOfImage(a.root, 'app:1');
      expect(treeOfImage(b.root, 'localhost/v1:latest')).to.deep.equal(want);
      expect(treeOfImage(b.root, 'docker.io/library/app:1')).to.deep.equal(want);
    } finally {
      b.cleanup();
    }
  });

  it('refuses a layer whose content is not the diff id its config names, and names nothing', function () {
    hodOk(a.root, ['push', 'app:1', `dir:${work}/d`]);
    const dir = path.join(work, 'd');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const configFile = path.join(dir, m.config.digest.slice(7));
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    const claimed = config.rootfs.diff_ids[1] = `sha256:${'0'.repeat(64)}`;
    const bytes = Buffer.from(JSON.stringify(config));
    const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
    fs.writeFileSync(path.join(dir, digest.slice(7)), bytes);
    m.config = { ...m.config, digest, size: bytes.length };
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const b = tempRoot();
    try {
      const r = hod(b.root, ['pull', `dir:${dir}`]);
      expect(r.status).to.equal(125);
      expect(r.stderr).to.contain(`expected ${claimed}`);
      expect(hodOk(b.root, ['images', '-q'])).to.equal('');
      expect(fs.readdirSync(path.join(b.root, 'layers')).filter((n) => n === claimed.slice(7))).to.deep.equal([]);
    } finally {
      b.cleanup();
    }
  });

  it('refuses a tampered blob naming its digest, and a layout ref that is not there, listing those that are', function () {
    hodOk(a.root, ['push', 'app:1', `dir:${work}/d`]);
    const m = JSON.parse(fs.readFileSync(path.join(work, 'd', 'manifest.json'), 'utf8'));
    const layer = m.layers[1].digest as string;
    fs.appendFileSync(path.join(work, 'd', layer.slice(7)), 'x');
    const b = tempRoot();
    try {
      const r = hod(b.root, ['pull', `dir:${work}/d`]);
      expect(r.status).to.equal(125);
      expect(r.stderr).to.contain(layer);
      expect(hodOk(b.root, ['images', '-q'])).to.equal('');
      hodOk(a.root, ['push', 'app:1', `oci:${work}/l:v1`]);
      hodOk(a.root, ['push', 'base:1', `oci:${work}/l:v2`]);
      const none = hod(b.root, ['pull', `oci:${work}/l:v3`]);
      expect(none.stderr).to.match(/no image named "v3" in the layout \(refs: v1, v2\)/);
      const which = hod(b.root, ['pull', `oci:${work}/l`]);
      expect(which.stderr).to.match(/holds 2 images: name one/);
    } finally {
      b.cleanup();
    }
  });
});
