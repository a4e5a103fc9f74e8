import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import tar from 'tar-stream';
import { HOD, REPO, hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';

/** The names of a layer blob's tar entries. */
export async function layerEntries(file: string): Promise<Map<string, tar.Header>> {
  const out = new Map<string, tar.Header>();
  const ex = tar.extract();
  const data = fs.readFileSync(file);
  const raw = data[0] === 0x1f && data[1] === 0x8b ? zlib.gunzipSync(data) : data;
  await new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      out.set(h.name.replace(/\/$/, ''), h);
      stream.on('end', next);
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
    ex.end(raw);
  });
  return out;
}

function manifestOf(root: string, name: string): { layers: { digest: string; mediaType: string }[]; config: { digest: string } } {
  const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8'));
  const d = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
  if (!d) throw new Error(`${name} not in index.json`);
  return JSON.parse(fs.readFileSync(path.join(root, 'blobs', 'sha256', d.digest.slice(7)), 'utf8'));
}

const blobPath = (root: string, digest: string) => path.join(root, 'blobs', 'sha256', digest.slice(7));

for (const driver of ['overlay', 'vfs']) {
  describe(`the core flow (${driver})`, function () {
    let root: string;
    let cleanup: () => void;
    before(function () {
      ({ root, cleanup } = tempRoot());
    });
    after(() => cleanup());

    it('runs the example script end to end', function () {
      const r = spawnSync('bash', [path.join(REPO, 'scripts/examples/busybox.sh')], { encoding: 'utf8', env: { ...process.env, HOD_ROOT: root, STORAGE_DRIVER: driver, HOD } });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.contain('hello from hod').and.contain('greeting=hi').and.contain('/bin/sh is gone');
      expect(r.stdout, 'run through runc: pid 1, the image workdir, the container hostname').to.match(/^pid 1 in \/srv on [0-9a-f]{12}$/m);
      expect(r.stdout).to.match(/localhost\/busybox\s+2\s/);
    });

    it('wrote the second layer as a whiteout for /bin/sh plus the new files', async function () {
      const m = manifestOf(root, 'localhost/busybox:2');
      expect(m.layers).to.have.length(2);
      const entries = await layerEntries(blobPath(root, m.layers[1].digest));
      expect([...entries.keys()]).to.include.members(['bin/.wh.sh', 'srv/x', 'srv/README.md', 'opt/etc/app.conf']);
      expect(entries.has('bin/busybox')).to.equal(false);
      expect(entries.get('srv/README.md')!.uid).to.equal(0);
    });

    it('gave busybox:latest and removed the busybox:1 name only', function () {
      const names = JSON.parse(hodOk(root, ['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
      expect(names).to.include.members(['localhost/busybox:2', 'localhost/busybox:latest']);
      expect(names).not.to.include('localhost/busybox:1');
    });

    it('is read by umoci and skopeo straight from the store', function () {
      const bundle = path.join(root, 'bundle-test');
      sh(`umoci unpack --image '${root}:localhost/busybox:2' '${bundle}'`);
      const rootfs = path.join(bundle, 'rootfs');
      expect(fs.existsSync(path.join(rootfs, 'bin/busybox'))).to.equal(true);
      expect(fs.existsSync(path.join(rootfs, 'bin/sh'))).to.equal(false);
      expect(fs.readFileSync(path.join(rootfs, 'srv/x'), 'utf8')).to.equal('hi\n');
      expect(fs.readFileSync(path.join(rootfs, 'opt/etc/app.conf'), 'utf8')).to.equal('greeting=hi\n');
      fs.rmSync(bundle, { recursive: true, force: true });
      const cfg = JSON.parse(sh(`skopeo inspect --config 'oci:${root}:localhost/busybox:2'`));
      expect(cfg.config.Entrypoint).to.deep.equal(['/bin/sh']);
      expect(cfg.config.Env).to.deep.equal(['PATH=/bin']);
      expect(cfg.config.Labels).to.deep.equal({ 'org.example.a': 'b' });
      expect(cfg.config.WorkingDir).to.equal('/srv');
      expect(cfg.rootfs.diff_ids).to.have.length(2);
      expect(cfg.history).to.have.length(2);
    });
  });
}

describe('commit options', function () {
  let root: string;
  let cleanup: () => void;
  before(function () {
    ({ root, cleanup } = tempRoot());
    makeBusybox(root);
  });
  after(() => cleanup());

  it('gives the same image id for the same content and --timestamp', function () {
    const ids = [0, 1].map(() => {
      const c = hodOk(root, ['from', 'busybox:1']);
      const m = hodOk(root, ['mount', c]);
      fs.writeFileSync(path.join(m, 'file'), 'same bytes');
      return hodOk(root, ['commit', '--rm', '--timestamp', '0', c]);
    });
    expect(ids[0]).to.match(/^[0-9a-f]{64}$/);
    expect(ids[1]).to.equal(ids[0]);
  });

  it('clamps times to SOURCE_DATE_EPOCH', async function () {
    const c = hodOk(root, ['from', 'busybox:1']);
    const m = hodOk(root, ['mount', c]);
    fs.writeFileSync(path.join(m, 'new'), 'x');
    hodOk(root, ['commit', '--rm', c, 'sde:1'], { env: { SOURCE_DATE_EPOCH: '86400' } });
    const man = manifestOf(root, 'localhost/sde:1');
    const e = await layerEntries(blobPath(root, man.layers[1].digest));
    expect(e.get('new')!.mtime!.getTime()).to.equal(86400_000);
    const cfg = JSON.parse(fs.readFileSync(blobPath(root, man.config.digest), 'utf8'));
    expect(cfg.created).to.equal('1970-01-02T00:00:00Z');
  });

  it('records an empty_layer history entry and no layer for a commit without changes', function () {
    const c = hodOk(root, ['from', 'busybox:1']);
    hodOk(root, ['config', '--label', 'x=y', c]);
    hodOk(root, ['commit', '--rm', c, 'nochange:1']);
    const man = manifestOf(root, 'localhost/nochange:1');
    expect(man.layers).to.have.length(1);
    const cfg = JSON.parse(fs.readFileSync(blobPath(root, man.config.digest), 'utf8'));
    expect(cfg.history.at(-1).empty_layer).to.equal(true);
    expect(cfg.config.Labels).to.deep.equal({ x: 'y' });
  });

  it('writes docker media types, plain tar layers and squashed images as asked', function () {
    const c = hodOk(root, ['from', 'busybox:1']);
    fs.writeFileSync(path.join(hodOk(root, ['mount', c]), 'f'), 'f');
    hodOk(root, ['commit', '--format', 'docker', '--disable-compression', c, 'fmt:docker']);
    const d = manifestOf(root, 'localhost/fmt:docker') as unknown as { mediaType: string; layers: { mediaType: string; digest: string }[] };
    expect(d.mediaType).to.equal('application/vnd.docker.distribution.manifest.v2+json');
    expect(d.layers.map((l) => l.mediaType)).to.deep.equal(['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar']);
    expect(fs.readFileSync(blobPath(root, d.layers[1].digest)).subarray(257, 262).toString()).to.equal('ustar');
    hodOk(root, ['commit', '--squash', '--rm', c, 'fmt:squash']);
    const s = manifestOf(root, 'localhost/fmt:squash');
    expect(s.layers).to.have.length(1);
    const out = sh(`umoci unpack --image '${root}:localhost/fmt:squash' '${root}/b2' >/dev/null && ls '${root}/b2/rootfs' '${root}/b2/rootfs/bin'`);
    expect(out).to.contain('busybox').and.contain('f');
  });

  it('writes the id to --iidfile and nothing but the id on stdout with -q', function () {
    const c = hodOk(root, ['from', 'busybox:1']);
    const iid = path.join(root, 'iid');
    const r = hod(root, ['commit', '-q', '--iidfile', iid, '--rm', c]);
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^[0-9a-f]{64}$/);
    expect(fs.readFileSync(iid, 'utf8')).to.equal(`sha256:${r.stdout}`);
  });
});
