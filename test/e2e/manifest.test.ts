import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hod, hodOk, sh, tempRoot } from '../helpers.js';
import { startRegistry, type Registry } from '../registry/server.js';

const NO_TLS = '--tls-verify=false';

/** Two images that differ in content and platform: img:amd64 (one file) and img:arm64 (v8, two files). */
function makeImages(root: string): { amd64: string; arm64: string } {
  const c = hodOk(root, ['from', 'scratch']);
  const m = hodOk(root, ['mount', c]);
  fs.writeFileSync(path.join(m, 'a'), 'a');
  const amd64 = hodOk(root, ['commit', '-q', c, 'img:amd64']);
  fs.writeFileSync(path.join(m, 'b'), 'b');
  hodOk(root, ['config', '--arch', 'arm64', '--variant', 'v8', c]);
  const arm64 = hodOk(root, ['commit', '-q', '--rm', c, 'img:arm64']);
  return { amd64, arm64 };
}

const manifestDigest = (root: string, image: string) => hodOk(root, ['inspect', '--format', '{{.FromImageDigest}}', image]);

describe('manifest lists: create, add, remove, inspect, push --all', function () {
  this.timeout(120_000);
  let reg: Registry;
  let a: ReturnType<typeof tempRoot>;
  let ids: { amd64: string; arm64: string };
  let work: string;

  before(async () => {
    reg = await startRegistry();
    a = tempRoot();
    ids = makeImages(a.root);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-manifest-'));
  });
  after(async () => {
    await reg.stop();
    a.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('builds a list of two platforms, shows it, and removes an entry', function () {
    const id = hodOk(a.root, ['manifest', 'create', 'app:edit']);
    expect(id).to.match(/^[0-9a-f]{64}$/);
    hodOk(a.root, ['manifest', 'add', 'app:edit', 'img:amd64']);
    hodOk(a.root, ['manifest', 'add', '--annotation', 'team=blue', 'app:edit', 'img:arm64']);
    const index = JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:edit']));
    expect(index.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((d: { platform: unknown }) => d.platform)).to.deep.equal([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    expect(index.manifests[1].annotations).to.deep.equal({ team: 'blue' });
    expect(index.manifests[0].digest).to.equal(manifestDigest(a.root, 'img:amd64'));

    // adding the same image again replaces its entry; an override changes the platform
    hodOk(a.root, ['manifest', 'add', '--arch', 's390x', 'app:edit', 'img:amd64']);
    const again = JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:edit']));
    expect(again.manifests.map((d: { platform: { architecture: string } }) => d.platform.architecture)).to.deep.equal(['arm64', 's390x']);

    hodOk(a.root, ['manifest', 'remove', 'app:edit', manifestDigest(a.root, 'img:arm64')]);
    expect(JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:edit'])).manifests).to.have.length(1);
    // lists are not images: `images` does not show them
    expect(hodOk(a.root, ['images', '--format', '{{.Name}}:{{.Tag}}']).split('\n').sort()).to.deep.equal(['localhost/img:amd64', 'localhost/img:arm64']);
    hodOk(a.root, ['manifest', 'rm', 'app:edit']);
    expect(hod(a.root, ['manifest', 'inspect', 'app:edit']).stderr).to.match(/manifest list "app:edit" not found/);
    expect(hodOk(a.root, ['images', '-q']).split('\n')).to.have.length(2);
  });

  it('pushes every image and the list; skopeo resolves each platform and hod pulls the arm64 one back', function () {
    hodOk(a.root, ['manifest', 'create', 'app:multi', 'img:amd64', 'img:arm64']);
    const digestfile = path.join(work, 'digest');
    const r = hod(a.root, ['manifest', 'push', '--all', NO_TLS, '--digestfile', digestfile, 'app:multi', `docker://${reg.host}/multi/app:1`]);
    expect(r.status, r.stderr).to.equal(0);
    const raw = sh(`skopeo inspect --raw ${NO_TLS} docker://${reg.host}/multi/app:1`);
    expect(JSON.parse(raw)).to.deep.equal(JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:multi'])));
    expect(fs.readFileSync(digestfile, 'utf8')).to.equal(`sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`);
    const arm = JSON.parse(sh(`skopeo inspect --override-arch arm64 --override-variant v8 ${NO_TLS} docker://${reg.host}/multi/app:1`));
    expect(arm.Architecture).to.equal('arm64');
    expect(arm.Digest, 'skopeo names the list it read').to.equal(fs.readFileSync(digestfile, 'utf8'));
    expect(arm.Layers).to.have.length(2);

    const b = tempRoot();
    try {
      expect(hodOk(b.root, ['pull', '-q', NO_TLS, '--platform', 'linux/arm64/v8', `${reg.host}/multi/app:1`])).to.equal(ids.arm64);
      expect(hodOk(b.root, ['manifest', 'inspect', NO_TLS, `docker://${reg.host}/multi/app:1`])).to.equal(hodOk(a.root, ['manifest', 'inspect', 'app:multi']));
    } finally {
      b.cleanup();
    }
  });

  it('converts the list and its images with --format docker, and writes an OCI layout skopeo reads', function () {
    hodOk(a.root, ['manifest', 'create', '--amend', 'app:multi']);
    hodOk(a.root, ['manifest', 'push', '-q', '--all', '--format', 'docker', NO_TLS, 'app:multi', `docker://${reg.host}/multi/app:docker`]);
    const list = JSON.parse(sh(`skopeo inspect --raw ${NO_TLS} docker://${reg.host}/multi/app:docker`));
    expect(list.mediaType).to.equal('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(list.manifests.map((d: { mediaType: string }) => d.mediaType)).to.deep.equal(Array(2).fill('application/vnd.docker.distribution.manifest.v2+json'));
    const child = JSON.parse(sh(`skopeo inspect --raw --override-arch arm64 --override-variant v8 ${NO_TLS} docker://${reg.host}/multi/app@${list.manifests[1].digest}`));
    expect(child.config.mediaType).to.equal('application/vnd.docker.container.image.v1+json');

    const layout = path.join(work, 'layout');
    hodOk(a.root, ['manifest', 'push', '-q', '--all', 'app:multi', `oci:${layout}:multi`]);
    expect(JSON.parse(sh(`skopeo inspect --raw oci:${layout}:multi`)).manifests).to.have.length(2);
    expect(JSON.parse(sh(`skopeo inspect --override-arch arm64 --override-variant v8 oci:${layout}:multi`)).Architecture).to.equal('arm64');
  });

  it('says what is wrong, and pushes nothing when an image of the list is gone', function () {
    expect(hod(a.root, ['manifest', 'add', 'nolist', 'img:amd64']).stderr).to.match(/manifest list "nolist" not found/);
    expect(hod(a.root, ['manifest', 'create', 'app:multi']).stderr).to.match(/already exists: use --amend/);
    expect(hod(a.root, ['manifest', 'create', 'img:amd64']).stderr).to.match(/names an image/);
    expect(hod(a.root, ['manifest', 'remove', 'app:multi', 'sha256:' + '0'.repeat(64)]).stderr).to.match(/has no entry sha256:0{64}/);
    expect(hod(a.root, ['manifest', 'frobnicate']).stderr).to.match(/unknown subcommand "frobnicate"/);
    const layout = path.join(work, 'no-all');
    const noAll = hod(a.root, ['manifest', 'push', 'app:multi', `oci:${layout}:x`]);
    expect(noAll.status).to.equal(125);
    expect(noAll.stderr).to.match(/oci: holds only what hod writes to it.*push with --all/);
    expect(fs.existsSync(layout), 'nothing written').to.equal(false);
    const refused = hod(a.root, ['manifest', 'push', NO_TLS, 'app:multi', `docker://${reg.host}/multi/never-pushed:1`]);
    expect(refused.status).to.equal(125);
    expect(refused.stderr).to.match(/push with --all to send them too/);

    // the same content as app:multi, so the same digest: each name must still be its own list
    hodOk(a.root, ['manifest', 'create', 'app:gone', 'img:amd64', 'img:arm64']);
    hodOk(a.root, ['manifest', 'remove', 'app:gone', manifestDigest(a.root, 'img:amd64')]);
    hodOk(a.root, ['manifest', 'add', 'app:gone', 'img:amd64']);
    expect(JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:multi'])).manifests[0].digest).to.equal(manifestDigest(a.root, 'img:amd64'));
    const gone = manifestDigest(a.root, 'img:arm64');
    hodOk(a.root, ['rmi', 'img:arm64']);
    const r = hod(a.root, ['manifest', 'push', '--all', NO_TLS, 'app:gone', `docker://${reg.host}/multi/gone:1`]);
    expect(r.status).to.equal(125);
    expect(r.stderr).to.contain(`image ${gone} of manifest list "localhost/app:gone" is not in the store`);
    expect(sh(`skopeo inspect --raw ${NO_TLS} docker://${reg.host}/multi/gone:1 2>&1 || true`)).to.match(/manifest unknown/i);
    // the list itself survived the image's removal and its blob the collection
    expect(JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:gone'])).manifests).to.have.length(2);
    hodOk(a.root, ['manifest', 'rm', 'app:gone']);
    expect(JSON.parse(hodOk(a.root, ['manifest', 'inspect', 'app:multi'])).manifests, 'a list with the same content stays').to.have.length(2);
  });
});
