import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { describeTree, hod, hodAsync, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { breakFirstPatch, startProxy, startRegistry, type Registry } from '../registry/server.js';

const NO_TLS = '--tls-verify=false';

/** A two-layer image with a whiteout, a hard link and a symlink, committed in `root` as localhost/app:1. */
function makeApp(root: string): void {
  makeBusybox(root, 'base:1');
  const c = hodOk(root, ['from', 'base:1']);
  const m = hodOk(root, ['mount', c]);
  sh(`set -e; cd '${m}'; rm bin/sh; mkdir -p srv/data; head -c 3000000 /dev/urandom > srv/data/big; echo hi > srv/a; ln srv/a srv/a-link; ln -s ../srv/a srv/sym; chmod 4755 srv/a`);
  hodOk(root, ['config', '--cmd', 'echo hi', '--label', 'l=1', c]);
  hodOk(root, ['commit', '--rm', c, 'app:1']);
}

function treeOfImage(root: string, image: string): Map<string, string> {
  const c = hodOk(root, ['from', image]);
  const tree = describeTree(hodOk(root, ['mount', c]));
  hodOk(root, ['rm', c]);
  return tree;
}

describe('push and pull (a real distribution registry on 127.0.0.1)', function () {
  this.timeout(120_000);
  let reg: Registry;
  let a: ReturnType<typeof tempRoot>;
  let b: ReturnType<typeof tempRoot>;
  let work: string;

  before(async () => {
    reg = await startRegistry();
    a = tempRoot();
    makeApp(a.root);
  });
  after(async () => {
    await reg.stop();
    a.cleanup();
  });
  beforeEach(() => {
    b = tempRoot();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-pp-'));
  });
  afterEach(() => {
    b.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('pushes an image that skopeo reads and umoci unpacks to the same tree, and pulls it back identical', function () {
    const r = hod(a.root, ['push', NO_TLS, '--digestfile', path.join(work, 'digest'), 'app:1', `docker://${reg.host}/team/app:1`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout, 'push prints nothing on stdout').to.equal('');
    expect(r.stderr).to.match(/Copying blob [0-9a-f]{12} done/);
    const digest = fs.readFileSync(path.join(work, 'digest'), 'utf8');
    const inspect = JSON.parse(sh(`skopeo inspect --tls-verify=false docker://${reg.host}/team/app:1`));
    expect(inspect.Digest).to.equal(digest);
    expect(inspect.Labels).to.deep.equal({ l: '1' });

    sh(`skopeo copy -q --src-tls-verify=false docker://${reg.host}/team/app:1 oci:${work}/layout:t && umoci unpack --image ${work}/layout:t ${work}/bundle >/dev/null`);
    const expected = treeOfImage(a.root, 'app:1');
    const unpacked = describeTree(path.join(work, 'bundle', 'rootfs'));
    expect([...unpacked.keys()]).to.deep.equal([...expected.keys()]);
    for (const k of ['srv/a', 'srv/a-link', 'srv/sym', 'srv/data/big', 'bin/busybox']) expect(unpacked.get(k)?.replace(/ xattrs.*/, '')).to.equal(expected.get(k)?.replace(/ xattrs.*/, ''));

    // read where it is, as skopeo inspect reads it
    const remote = JSON.parse(hodOk(b.root, ['inspect', NO_TLS, `docker://${reg.host}/team/app:1`]));
    expect(remote.Digest).to.equal(digest);
    expect(remote.Layers).to.deep.equal(inspect.Layers);
    expect(remote.Labels).to.deep.equal({ l: '1' });
    expect(hodOk(b.root, ['inspect', NO_TLS, '--format', '{{.Digest}}', `docker://${reg.host}/team/app:1`])).to.equal(digest);
    expect(JSON.parse(hodOk(b.root, ['inspect', NO_TLS, '--type', 'manifest', `docker://${reg.host}/team/app:1`]))).to.deep.equal(JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${reg.host}/team/app:1`)));
    expect(hodOk(b.root, ['images', '-q']), 'inspect pulls nothing').to.equal('');
    const id = hodOk(b.root, ['pull', NO_TLS, '-q', `${reg.host}/team/app:1`]);
    expect(id).to.equal(hodOk(a.root, ['inspect', '--format', '{{.FromImageID}}', 'app:1']));
    expect(treeOfImage(b.root, `${reg.host}/team/app:1`)).to.deep.equal(expected);
  });

  it('pulls what skopeo pushed, and skips blobs the registry already has on a second push', async function () {
    hodOk(a.root, ['push', NO_TLS, 'app:1', `oci:${work}/out:v1`]);
    sh(`skopeo copy -q --dest-tls-verify=false oci:${work}/out:v1 docker://${reg.host}/other/app:v1`);
    hodOk(b.root, ['pull', NO_TLS, '-q', `docker://${reg.host}/other/app:v1`]);
    expect(treeOfImage(b.root, `${reg.host}/other/app:v1`)).to.deep.equal(treeOfImage(a.root, 'app:1'));
    const again = hod(a.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/other/app:v1`]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.match(/skipped: already exists/);
    expect(again.stderr).not.to.match(/Copying blob [0-9a-f]{12} done/);
    // the tag already holds this manifest: nothing is uploaded, and only the blobs asked about alongside the
    // manifest (the first --jobs of them, 3) are asked about
    const reqs = await (async () => {
      const proxy = await startProxy(reg.host, {});
      try {
        const r = await hodAsync(a.root, ['push', NO_TLS, 'app:1', `docker://${proxy.host}/other/app:v1`]);
        expect(r.status, r.stderr).to.equal(0);
        return proxy.requests;
      } finally {
        await proxy.stop();
      }
    })();
    const blobReqs = reqs.filter((l) => l.includes('/blobs/'));
    expect(blobReqs.filter((l) => !l.startsWith('HEAD ')), reqs.join('\n')).to.deep.equal([]);
    expect(blobReqs.length, reqs.join('\n')).to.be.at.most(3);
  });

  it('makes a container from a registry image, pulling it when missing (--pull never refuses)', function () {
    hodOk(a.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/from/app:1`]);
    const never = hod(b.root, ['from', '--pull', 'never', `${reg.host}/from/app:1`]);
    expect(never.status).to.equal(125);
    expect(never.stderr).to.contain('not found');
    const r = hod(b.root, ['from', NO_TLS, `${reg.host}/from/app:1`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('app-working-container');
    expect(r.stderr).to.match(/Copying blob/);
    const again = hod(b.root, ['from', NO_TLS, '-q', `${reg.host}/from/app:1`]);
    expect(again.stderr, 'present: no second pull').to.equal('');
    expect(describeTree(hodOk(b.root, ['mount', r.stdout]))).to.deep.equal(treeOfImage(a.root, 'app:1'));
  });

  it('refuses a blob whose bytes do not match its digest, naming it, and stores nothing named', function () {
    hodOk(a.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/bad/app:1`]);
    const manifest = JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${reg.host}/bad/app:1`));
    const layer = manifest.layers[1].digest as string;
    const file = reg.blobFile(layer);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    try {
      const r = hod(b.root, ['pull', NO_TLS, `${reg.host}/bad/app:1`]);
      expect(r.status).to.equal(125);
      expect(r.stderr).to.contain(layer);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('Error:'))).to.have.length(1);
      expect(hodOk(b.root, ['images', '-q'])).to.equal('');
      expect(fs.existsSync(path.join(b.root, 'blobs', 'sha256', layer.slice(7)))).to.equal(false);
    } finally {
      bytes[bytes.length >> 1] ^= 0xff;
      fs.writeFileSync(file, bytes);
    }
  });

  it('resumes a blob download that a proxy cuts halfway, with a Range request', async function () {
    hodOk(a.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/cut/app:1`]);
    const layers = JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${reg.host}/cut/app:1`)).layers as { digest: string; size: number }[];
    const big = layers.reduce((x, y) => (y.size > x.size ? y : x));
    expect(big.size).to.be.greaterThan(2_000_000);
    let cutOnce = true;
    const proxy = await startProxy(reg.host, {
      cut: (req) => {
        if (!req.url?.endsWith(`/blobs/${big.digest}`) || req.method !== 'GET' || req.headers.range || !cutOnce) return undefined;
        cutOnce = false;
        return 1_000_000;
      },
    });
    try {
      // the registry serves the big layer through the proxy; the first GET of a blob is cut at 1 MB
      const r = await hodAsync(b.root, ['pull', NO_TLS, '--retry-delay', '10ms', '--jobs', '1', `${proxy.host}/cut/app:1`]);
      expect(r.status, r.stderr).to.equal(0);
      expect(cutOnce).to.equal(false);
      expect(proxy.requests.some((l) => /bytes=\d+-$/.test(l)), proxy.requests.join('\n')).to.equal(true);
      expect(treeOfImage(b.root, `${proxy.host}/cut/app:1`)).to.deep.equal(treeOfImage(a.root, 'app:1'));
    } finally {
      await proxy.stop();
    }
  });

  it('leaves the local image intact when a push fails halfway, and a second push completes it', async function () {
    let failManifests = true;
    const proxy = await startProxy(reg.host, {
      fault: (req, res) => {
        if (!failManifests || req.method !== 'PUT' || !/\/manifests\//.test(req.url ?? '')) return false;
        req.resume();
        res.writeHead(503).end();
        return true;
      },
    });
    try {
      const before = hodOk(a.root, ['inspect', '--format', '{{.FromImageDigest}}', 'app:1']);
      const r1 = await hodAsync(a.root, ['push', NO_TLS, '--retry', '0', 'app:1', `${proxy.host}/half/app:1`]);
      expect(r1.status).to.equal(125);
      expect(r1.stderr).to.match(/Error: PUT .*manifests.*status 503/);
      expect(hodOk(a.root, ['inspect', '--format', '{{.FromImageDigest}}', 'app:1'])).to.equal(before);
      failManifests = false;
      const r2 = await hodAsync(a.root, ['push', NO_TLS, 'app:1', `${proxy.host}/half/app:1`]);
      expect(r2.status, r2.stderr).to.equal(0);
      expect(r2.stderr).to.match(/skipped: already exists/);
      expect(JSON.parse(sh(`skopeo inspect --tls-verify=false docker://${reg.host}/half/app:1`)).Labels).to.deep.equal({ l: '1' });
    } finally {
      await proxy.stop();
    }
  });

  it('pulls a layer of 16 MiB and more, whose files a second thread writes, to the same tree', async function () {
    const c = hodOk(a.root, ['from', 'base:1']);
    const m = hodOk(a.root, ['mount', c]);
    sh(`set -e; cd '${m}'; mkdir -p big/d1 big/d2; for i in 1 2 3; do head -c 6000000 /dev/urandom > big/r$i; done
        for i in $(seq 1 400); do echo "file $i" > big/d$((i % 2 + 1))/f$i; done
        chmod 600 big/d2/f1; chmod 4755 big/r1; chown 1000:1000 big/d1/f2; ln big/r2 big/hard; ln -s r3 big/sym`);
    hodOk(a.root, ['commit', '--rm', c, 'large:1']);
    try {
      hodOk(a.root, ['push', '-q', NO_TLS, 'large:1', `docker://${reg.host}/large/app:1`]);
      const layers = JSON.parse(sh(`skopeo inspect --raw ${NO_TLS} docker://${reg.host}/large/app:1`)).layers as { size: number }[];
      expect(layers.some((l) => l.size >= 16 << 20), 'a layer large enough for the writer thread').to.equal(true);
      expect(hodOk(b.root, ['pull', '-q', NO_TLS, `${reg.host}/large/app:1`])).to.equal(hodOk(a.root, ['images', '-q', '--no-trunc', 'large:1']).replace('sha256:', ''));
      expect(treeOfImage(b.root, `${reg.host}/large/app:1`)).to.deep.equal(treeOfImage(a.root, 'large:1'));
    } finally {
      hodOk(a.root, ['rmi', 'large:1']);
    }
  });

  it('starts a large blob again when its streamed upload breaks, and the push completes', async function () {
    const c = hodOk(a.root, ['from', 'base:1']);
    sh(`head -c 10000000 /dev/urandom > '${hodOk(a.root, ['mount', c])}/big'`);
    hodOk(a.root, ['commit', '--rm', c, 'big:1']);
    const breaker = breakFirstPatch(3_000_000);
    const proxy = await startProxy(reg.host, { fault: breaker.fault });
    try {
      const r = await hodAsync(a.root, ['push', NO_TLS, '--retry-delay', '10ms', 'big:1', `${proxy.host}/broken/big:1`]);
      expect(r.status, r.stderr).to.equal(0);
      expect(breaker.broke()).to.equal(true);
      expect(proxy.requests.filter((l) => l.startsWith('PATCH')), proxy.requests.join('\n')).to.have.length(2);
      const digest = hodOk(a.root, ['inspect', '--format', '{{.FromImageDigest}}', 'big:1']);
      expect(JSON.parse(sh(`skopeo inspect --tls-verify=false docker://${reg.host}/broken/big:1`)).Digest).to.equal(digest);
    } finally {
      await proxy.stop();
      hodOk(a.root, ['rmi', 'big:1']);
    }
  });

  it('says what is wrong: a plain-HTTP registry without --tls-verify=false, an unknown image, a schema 1 manifest, an unknown transport', async function () {
    const tls = hod(b.root, ['pull', `${reg.host}/team/app:1`]);
    expect(tls.status).to.equal(125);
    expect(tls.stderr).to.match(/does not speak TLS .*--tls-verify=false/);
    const missing = hod(b.root, ['pull', NO_TLS, `${reg.host}/team/nope:1`]);
    expect(missing.stderr).to.match(/manifests\/1: not found/);
    const proxy = await startProxy(reg.host, {
      fault: (req, res) => {
        if (!/\/manifests\//.test(req.url ?? '')) return false;
        res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end(JSON.stringify({ schemaVersion: 1, name: 'old', tag: '1', fsLayers: [] }));
        return true;
      },
    });
    try {
      const old = await hodAsync(b.root, ['pull', NO_TLS, `${proxy.host}/old:1`]);
      expect(old.status).to.equal(125);
      expect(old.stderr).to.contain('Docker schema 1 manifest, which hod does not support');
    } finally {
      await proxy.stop();
    }
    const daemon = hod(b.root, ['pull', 'docker-daemon:app:1']);
    expect(daemon.stderr).to.contain('docker-daemon: transport is not supported');
  });
});
