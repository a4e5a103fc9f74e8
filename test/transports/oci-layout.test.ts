import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { Descriptor, Index } from '../../lib/image/types.js';
import { copyImage, type ProgressEvent } from '../../lib/pull/copy-image.js';
import { OciLayoutDestination, OciLayoutSource, openOciLayoutSource } from '../../lib/pull/oci-layout.js';
import { sh } from '../helpers.js';
import { listing, readBack, sha256, umociLayout, unpackedTree } from './fixtures.js';

describe('oci: layouts, with skopeo and umoci as the peers', function () {
  this.timeout(120_000);
  let fixture: string;
  let img: string;
  let work: string;

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-oci-fx-'));
    img = umociLayout(fixture);
  });
  after(() => fs.rmSync(fixture, { recursive: true, force: true }));
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-oci-'))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const copy = (ref: string, dir: string, to?: string, progress?: (e: ProgressEvent) => void) =>
    copyImage(new OciLayoutSource(img, ref), new OciLayoutDestination(dir, to), { progress });

  it('reads what skopeo writes: the digest skopeo reports, every blob verified', async () => {
    sh(`skopeo copy -q oci:${img}:t oci:${work}/s:x`);
    const got = await readBack(openOciLayoutSource({ transport: 'oci', rest: `${work}/s:x` }));
    expect(got.digest).to.equal(JSON.parse(sh(`skopeo inspect oci:${work}/s:x`)).Digest);
    expect(got.blobs).to.have.length(3);
  });

  it('writes index.json and oci-layout byte for byte as skopeo, moving a ref as skopeo moves it', async () => {
    // the same four writes through both tools: new name, the name moved, a second name, no name
    const steps: [string, string | undefined][] = [['t', 'a'], ['base', 'a'], ['t', 'b'], ['t', undefined]];
    for (const [from, to] of steps) {
      sh(`skopeo copy -q oci:${img}:${from} oci:${work}/s${to ? `:${to}` : ''}`);
      await copy(from, `${work}/h`, to);
      expect(fs.readFileSync(`${work}/h/index.json`, 'utf8'), `after ${from} -> ${to}`).to.equal(fs.readFileSync(`${work}/s/index.json`, 'utf8'));
    }
    expect(listing(`${work}/h`)).to.deep.equal(listing(`${work}/s`));
  });

  it('writes layouts umoci unpacks into the same tree, and skips blobs the layout already has', async () => {
    await copy('base', `${work}/h`, 'base');
    const events: ProgressEvent[] = [];
    await copy('t', `${work}/h`, 'v', (e) => events.push(e));
    // the base layer is shared; the config and the second layer are new
    expect(events.filter((e) => e.kind === 'skip')).to.have.length(1);
    expect(unpackedTree(`${work}/h`, 'v', work)).to.deep.equal(unpackedTree(img, 't', work));
    expect(JSON.parse(sh(`skopeo inspect oci:${work}/h:v`)).Layers).to.have.length(2);
    // the same image under the same name again: already there, nothing is written
    const index = fs.readFileSync(`${work}/h/index.json`, 'utf8');
    const again: ProgressEvent[] = [];
    await copy('t', `${work}/h`, 'v', (e) => again.push(e));
    expect(again.map((e) => e.kind)).to.deep.equal(['skip', 'skip', 'skip']);
    expect(fs.readFileSync(`${work}/h/index.json`, 'utf8')).to.equal(index);
  });

  it('serves an index and its children, and stores children then the index for skopeo to read', async () => {
    const src = new OciLayoutSource(img, 'multi');
    const top = await src.manifest();
    expect(top.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    const dst = new OciLayoutDestination(`${work}/h`, 'm');
    try {
      for (const child of (JSON.parse(top.bytes.toString()) as Index).manifests) {
        const raw = await src.manifest(child.digest);
        expect(sha256(raw.bytes)).to.equal(child.digest);
        const m = JSON.parse(raw.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
        for (const d of [m.config, ...m.layers]) if (!(await dst.hasBlob(d))) await dst.putBlob(d, await src.blob(d));
        await dst.putManifest(raw, { child: true });
      }
      await dst.putManifest(top);
      await dst.commit();
    } finally {
      await Promise.all([src.close(), dst.close()]);
    }
    expect(sh(`skopeo inspect --raw oci:${work}/h:m`)).to.equal(top.bytes.toString());
    sh(`skopeo copy -q --all oci:${work}/h:m oci:${work}/s:m`);
    expect((await readBack(new OciLayoutSource(`${work}/h`, 'm'))).blobs).to.have.length(5);
  });

  it('refuses a blob whose bytes do not match, naming the digest, and leaves nothing', async () => {
    const good = Buffer.from('the real bytes');
    const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(good), size: good.length };
    // a new layout disappears entirely; an existing one is left as it was
    await copy('base', `${work}/old`, 'base');
    const before = listing(`${work}/old`);
    for (const dir of [`${work}/new/layout`, `${work}/old`]) {
      const dst = new OciLayoutDestination(dir, 'x');
      const err = await dst.putBlob(desc, Readable.from([Buffer.from('the fake bytes')])).catch((e: Error) => e);
      await dst.close();
      expect(String(err)).to.contain(desc.digest);
    }
    expect(fs.existsSync(`${work}/new`)).to.equal(false);
    expect(listing(`${work}/old`)).to.deep.equal(before);
  });

  it('makes nothing visible before commit', async () => {
    const src = new OciLayoutSource(img, 't');
    const dst = new OciLayoutDestination(`${work}/h`, 'x');
    const raw = await src.manifest();
    const m = JSON.parse(raw.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [m.config, ...m.layers]) await dst.putBlob(d, await src.blob(d));
    await dst.putManifest(raw);
    expect(listing(`${work}/h`).filter((l) => !l.endsWith('/') && !l.includes('/.hod-'))).to.deep.equal([]);
    await Promise.all([src.close(), dst.close()]);
    expect(listing(`${work}/h`)).to.deep.equal([]);
  });

  it('names the digest of a blob missing from a source layout', async () => {
    sh(`cp -a ${img} ${work}/l`);
    const m = JSON.parse((await new OciLayoutSource(img, 't').manifest()).bytes.toString());
    const gone = m.layers[1].digest as string;
    fs.rmSync(`${work}/l/blobs/sha256/${gone.slice(7)}`);
    const err = await copyImage(new OciLayoutSource(`${work}/l`, 't'), new OciLayoutDestination(`${work}/h`, 't')).catch((e: Error) => e);
    expect(String(err)).to.contain(`blob ${gone} is missing from the layout`);
    expect(listing(`${work}/h`)).to.deep.equal([]);
  });

  it('takes the only image without a ref, and otherwise lists the refs there', async () => {
    await copy('base', `${work}/one`);
    expect((await readBack(new OciLayoutSource(`${work}/one`))).blobs).to.have.length(2);
    const none = await new OciLayoutSource(img, 'nope').manifest().catch((e: Error) => e);
    expect(String(none)).to.contain('no image named "nope" in the layout (refs: base, t, multi, js)');
    const which = await new OciLayoutSource(img).manifest().catch((e: Error) => e);
    expect(String(which)).to.contain('the layout holds 4 images: name one (refs: base, t, multi, js)');
    expect((await new OciLayoutSource(img, { index: 1 }).manifest()).bytes.toString()).to.contain('"layers"');
    const notLayout = await new OciLayoutSource(work).manifest().catch((e: Error) => e);
    expect(String(notLayout)).to.contain('not an OCI image layout');
  });
});
