import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { tarBuffer } from '../../lib/commit/tar-writer.js';
import type { Manifest } from '../../lib/image/types.js';
import { copyImage } from '../../lib/pull/copy-image.js';
import { DockerArchiveDestination, DockerArchiveSource, openDockerArchiveDestination, openDockerArchiveSource } from '../../lib/pull/docker-archive.js';
import { OciLayoutSource } from '../../lib/pull/oci-layout.js';
import { sh } from '../helpers.js';
import { dockerSave, layerTar, listing, readBack, sha256, umociLayout, unpackedTree } from './fixtures.js';

const GZIP_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

describe('docker-archive: files (docker save), with skopeo and umoci as the peers', function () {
  this.timeout(120_000);
  let fixture: string;
  let img: string;
  let work: string;

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-da-fx-'));
    img = umociLayout(fixture);
  });
  after(() => fs.rmSync(fixture, { recursive: true, force: true }));
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-da-'))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  /** skopeo's manifest for the archive, as it copies it to dir: (layers labelled gzip: containers/image's quirk). */
  const skopeoManifest = (file: string): Manifest => {
    sh(`rm -rf ${work}/sd; skopeo copy -q docker-archive:${file} dir:${work}/sd`);
    return JSON.parse(fs.readFileSync(`${work}/sd/manifest.json`, 'utf8')) as Manifest;
  };
  const asSkopeoLabels = (m: Manifest): Manifest => ({ ...m, layers: m.layers.map((l) => ({ ...l, mediaType: GZIP_LAYER })) });

  // "js" has a config as JSON.stringify writes it: the legacy layer ids hash Go's re-encoding of it
  for (const [ref, tag] of [['t', 'example.com/app:1'], ['t', undefined], ['js', 'busybox']] as [string, string | undefined][]) {
    it(`writes the very bytes skopeo writes from gzip layers (${ref}, ${tag ?? 'untagged'}), and skopeo reads them back`, async () => {
      const name = `${work}/h.tar${tag ? `:${tag}` : ''}`;
      await copyImage(new OciLayoutSource(img, ref), openDockerArchiveDestination({ transport: 'docker-archive', rest: name }));
      sh(`skopeo copy -q oci:${img}:${ref} docker-archive:${work}/s.tar${tag ? `:${tag}` : ''}`);
      expect(fs.readFileSync(`${work}/h.tar`).equals(fs.readFileSync(`${work}/s.tar`))).to.equal(true);
      sh(`skopeo copy -q docker-archive:${work}/h.tar oci:${work}/out:t`);
      expect(unpackedTree(`${work}/out`, 't', work)).to.deep.equal(unpackedTree(img, ref, work));
      expect(fs.readdirSync(work).sort()).to.deep.equal(['h.tar', 'out', 's.tar']);
    });
  }

  it('reads what skopeo writes by tag, by position or as the only image: the layers and config skopeo sees', async () => {
    sh(`skopeo copy -q oci:${img}:t docker-archive:${work}/s.tar:example.com/app:1`);
    const want = skopeoManifest(`${work}/s.tar`);
    for (const rest of ['s.tar:example.com/app:1', 's.tar:@0', 's.tar']) {
      const got = await readBack(openDockerArchiveSource({ transport: 'docker-archive', rest: `${work}/${rest}` }));
      expect(asSkopeoLabels(got.manifest), rest).to.deep.equal(want);
    }
  });

  for (const layout of ['legacy', 'oci'] as const) {
    it(`reads docker save's ${layout === 'legacy' ? 'pre-25 <id>/layer.tar' : 'Docker 25 blobs/sha256'} layout with gzip and repeated layers`, async () => {
      const fx = dockerSave(`${work}/save.tar`, layout);
      const got = await readBack(new DockerArchiveSource(fx.file, { ref: 'example.com/app:1' }));
      expect(got.manifest.layers.map((l) => l.digest)).to.deep.equal(fx.diffIds);
      expect(got.manifest.config.digest).to.equal(sha256(fx.config));
      expect(asSkopeoLabels(got.manifest)).to.deep.equal(skopeoManifest(fx.file));
    });
  }

  it('reads a gzip-compressed archive, from a file or a pipe, as docker load does', async () => {
    const fx = dockerSave(`${work}/save.tar`, 'legacy');
    fs.writeFileSync(`${work}/save.tar.gz`, zlib.gzipSync(fs.readFileSync(fx.file)));
    expect((await readBack(new DockerArchiveSource(`${work}/save.tar.gz`))).manifest.layers).to.have.length(3);
    sh(`mkfifo ${work}/pipe`);
    const writer = spawn('sh', ['-c', `cat ${work}/save.tar.gz > ${work}/pipe`]);
    expect((await readBack(new DockerArchiveSource(`${work}/pipe`))).manifest.config.digest).to.equal(sha256(fx.config));
    writer.kill();
  });

  it('refuses a layer that does not unpack to its diff_id, and a blob that does not match, leaving nothing', async () => {
    const layer = zlib.gzipSync(layerTar({ a: 'a\n' }));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('something else')] } }));
    const cd = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
    const ld = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length };
    const dst = new DockerArchiveDestination(`${work}/h.tar`);
    await dst.putBlob(cd, Readable.from([config]));
    await dst.putBlob(ld, Readable.from([layer]));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cd, layers: [ld] }));
    const err = await dst.putManifest({ bytes: manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }).catch((e: Error) => e);
    expect(String(err)).to.contain(`layer 1 (${ld.digest}) unpacks to ${sha256(layerTar({ a: 'a\n' }))}, but the config's diff_id is ${sha256('something else')}`);
    const bad = await dst.putBlob({ ...ld, digest: sha256('x') }, Readable.from([layer])).catch((e: Error) => e);
    expect(String(bad)).to.contain(sha256('x'));
    await dst.close();
    expect(listing(work)).to.deep.equal([]);
  });

  it('refuses member names that climb out with "..", in the tar and in manifest.json', async () => {
    const entry = (p: string, content: string) => ({ path: p, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from(content) });
    fs.writeFileSync(`${work}/a.tar`, tarBuffer([entry('manifest.json', '[]'), entry('../x', 'escape')]));
    expect(String(await new DockerArchiveSource(`${work}/a.tar`).manifest().catch((e: Error) => e))).to.match(/refusing archive entry "\.\.\/x"/);
    fs.writeFileSync(`${work}/b.tar`, tarBuffer([entry('manifest.json', JSON.stringify([{ Config: '../../etc/passwd', RepoTags: [], Layers: [] }]))]));
    expect(String(await new DockerArchiveSource(`${work}/b.tar`).manifest().catch((e: Error) => e))).to.match(/refusing archive entry "\.\.\/\.\.\/etc\/passwd"/);
  });

  it('names a tag that is not in the archive, listing those that are', async () => {
    dockerSave(`${work}/save.tar`, 'oci', ['example.com/app:1', 'busybox:2']);
    const err = await openDockerArchiveSource({ transport: 'docker-archive', rest: `${work}/save.tar:busybox` }).manifest().catch((e: Error) => e);
    expect(String(err)).to.contain('no image tagged "docker.io/library/busybox:latest" in the archive (tags: example.com/app:1, busybox:2)');
    expect((await readBack(openDockerArchiveSource({ transport: 'docker-archive', rest: `${work}/save.tar:busybox:2` }))).blobs).to.have.length(4);
  });

  it('does not add to an existing archive, as skopeo does not', () => {
    fs.writeFileSync(`${work}/h.tar`, 'x');
    expect(() => new DockerArchiveDestination(`${work}/h.tar`)).to.throw(/does not add images to an existing archive/);
  });
});
