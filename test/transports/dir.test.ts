import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { Descriptor, Index } from '../../lib/image/types.js';
import { copyImage } from '../../lib/pull/copy-image.js';
import { DirDestination, DirSource, openDirSource } from '../../lib/pull/dir.js';
import { OciLayoutSource } from '../../lib/pull/oci-layout.js';
import { sh } from '../helpers.js';
import { listing, readBack, sha256, umociLayout, unpackedTree } from './fixtures.js';

describe('dir: directories, with skopeo and umoci as the peers', function () {
  this.timeout(120_000);
  let fixture: string;
  let img: string;
  let work: string;

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-dir-fx-'));
    img = umociLayout(fixture);
  });
  after(() => fs.rmSync(fixture, { recursive: true, force: true }));
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-dir-'))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads what skopeo writes, every blob verified', async () => {
    sh(`skopeo copy -q oci:${img}:t dir:${work}/s`);
    const got = await readBack(openDirSource({ transport: 'dir', rest: `${work}/s` }));
    expect(got.digest).to.equal(JSON.parse(sh(`skopeo inspect dir:${work}/s`)).Digest);
    expect(got.blobs).to.have.length(3);
  });

  it('writes the same files as skopeo, which copies them out into a layout umoci unpacks into the same tree', async () => {
    await copyImage(new OciLayoutSource(img, 't'), new DirDestination(`${work}/h`));
    sh(`skopeo copy -q oci:${img}:t dir:${work}/s`);
    expect(listing(`${work}/h`)).to.deep.equal(listing(`${work}/s`));
    sh(`skopeo copy -q dir:${work}/h oci:${work}/out:t`);
    expect(unpackedTree(`${work}/out`, 't', work)).to.deep.equal(unpackedTree(img, 't', work));
  });

  it('stores and serves index children as <hex>.manifest.json, as skopeo --all does', async () => {
    sh(`skopeo copy -q --all oci:${img}:multi dir:${work}/s`);
    const src = new DirSource(`${work}/s`);
    const dst = new DirDestination(`${work}/h`);
    const top = await src.manifest();
    try {
      for (const child of (JSON.parse(top.bytes.toString()) as Index).manifests) {
        const raw = await src.manifest(child.digest);
        const m = JSON.parse(raw.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
        for (const d of [m.config, ...m.layers]) if (!(await dst.hasBlob(d))) await dst.putBlob(d, await src.blob(d));
        await dst.putManifest(raw, { child: true });
      }
      await dst.putManifest(top);
      await dst.commit();
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
    expect(listing(`${work}/h`)).to.deep.equal(listing(`${work}/s`));
    expect((await readBack(new DirSource(`${work}/h`))).blobs).to.have.length(5);
  });

  it('replaces an image directory only on commit, and refuses a directory that holds something else', async () => {
    await copyImage(new OciLayoutSource(img, 'base'), new DirDestination(`${work}/h`));
    const before = listing(`${work}/h`);
    const src = new OciLayoutSource(img, 't');
    const dst = new DirDestination(`${work}/h`);
    const raw = await src.manifest();
    const m = JSON.parse(raw.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [m.config, ...m.layers]) await dst.putBlob(d, await src.blob(d));
    await dst.putManifest(raw);
    expect(listing(`${work}/h`)).to.deep.equal(before);
    await dst.commit();
    await Promise.all([src.close(), dst.close()]);
    expect(fs.readFileSync(`${work}/h/manifest.json`).equals(raw.bytes)).to.equal(true);
    expect(fs.readdirSync(work)).to.deep.equal(['h']);
    fs.mkdirSync(`${work}/other`);
    fs.writeFileSync(`${work}/other/precious`, 'x');
    expect(() => new DirDestination(`${work}/other`)).to.throw(/not empty and is not an image directory/);
  });

  it('refuses a blob whose bytes do not match, naming the digest, and leaves nothing', async () => {
    const good = Buffer.from('the real bytes');
    const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(good), size: good.length };
    const dst = new DirDestination(`${work}/new/h`);
    const err = await dst.putBlob(desc, Readable.from([Buffer.from('the fake bytes')])).catch((e: Error) => e);
    await dst.close();
    expect(String(err)).to.contain(desc.digest);
    expect(listing(work)).to.deep.equal([]);
  });

  it('names the digest of a blob missing from a source directory', async () => {
    sh(`skopeo copy -q oci:${img}:t dir:${work}/s`);
    const m = JSON.parse(fs.readFileSync(`${work}/s/manifest.json`, 'utf8'));
    const gone = m.layers[0].digest as string;
    fs.rmSync(`${work}/s/${gone.slice(7)}`);
    const err = await copyImage(new DirSource(`${work}/s`), new DirDestination(`${work}/h`)).catch((e: Error) => e);
    expect(String(err)).to.contain(`blob ${gone} is missing from the directory`);
    expect(fs.readdirSync(work)).to.deep.equal(['s']);
  });
});
