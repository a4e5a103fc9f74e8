import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { tarBuffer } from '../../lib/commit/tar-writer.js';
import { copyImage } from '../../lib/pull/copy-image.js';
import { OciArchiveDestination, OciArchiveSource, openOciArchiveSource } from '../../lib/pull/oci-archive.js';
import { OciLayoutSource } from '../../lib/pull/oci-layout.js';
import { sh } from '../helpers.js';
import { listing, readBack, sha256, umociLayout, unpackedTree } from './fixtures.js';

describe('oci-archive: files, with skopeo and umoci as the peers', function () {
  this.timeout(120_000);
  let fixture: string;
  let img: string;
  let work: string;

  before(() => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-ocia-fx-'));
    img = umociLayout(fixture);
  });
  after(() => fs.rmSync(fixture, { recursive: true, force: true }));
  beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-ocia-'))));
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads what skopeo writes, without unpacking it: every blob verified', async () => {
    sh(`skopeo copy -q oci:${img}:t oci-archive:${work}/s.tar:x`);
    const got = await readBack(openOciArchiveSource({ transport: 'oci-archive', rest: `${work}/s.tar:x` }));
    expect(got.digest).to.equal(JSON.parse(sh(`skopeo inspect oci-archive:${work}/s.tar:x`)).Digest);
    expect(got.blobs).to.have.length(3);
    expect(fs.readdirSync(work)).to.deep.equal(['s.tar']);
  });

  it('writes archives skopeo copies out into a layout umoci unpacks into the same tree', async () => {
    await copyImage(new OciLayoutSource(img, 't'), new OciArchiveDestination(`${work}/h.tar`, 'x'));
    sh(`skopeo copy -q oci:${img}:t oci-archive:${work}/s.tar:x`);
    // the same members in the same order as skopeo's; owners and times zeroed
    expect(sh(`tar tf ${work}/h.tar`)).to.equal(sh(`tar tf ${work}/s.tar`));
    expect(sh(`tar tvf ${work}/h.tar | awk '{print $1, $2}' | sort -u`)).to.equal('-rw-r--r-- 0/0\ndrwxr-xr-x 0/0');
    sh(`skopeo copy -q oci-archive:${work}/h.tar:x oci:${work}/out:t`);
    expect(unpackedTree(`${work}/out`, 't', work)).to.deep.equal(unpackedTree(img, 't', work));
    expect(fs.readdirSync(work).sort()).to.deep.equal(['h.tar', 'out', 's.tar']);
  });

  it('replaces an archive only on commit; a blob that does not match leaves the old one and nothing else', async () => {
    await copyImage(new OciLayoutSource(img, 'base'), new OciArchiveDestination(`${work}/h.tar`, 'x'));
    const before = listing(work);
    const good = Buffer.from('the real bytes');
    const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(good), size: good.length };
    const dst = new OciArchiveDestination(`${work}/h.tar`, 'x');
    const err = await dst.putBlob(desc, Readable.from([Buffer.from('the fake bytes')])).catch((e: Error) => e);
    await dst.close();
    expect(String(err)).to.contain(desc.digest);
    expect(listing(work)).to.deep.equal(before);
    // and a full write replaces it, as skopeo does
    await copyImage(new OciLayoutSource(img, 't'), new OciArchiveDestination(`${work}/h.tar`, 'x'));
    expect((await readBack(new OciArchiveSource(`${work}/h.tar`, { ref: 'x' }))).blobs).to.have.length(3);
  });

  it('refuses an archive whose member names climb out with ".."', async () => {
    const file = path.join(work, 'evil.tar');
    const entry = (p: string, content: string) => ({ path: p, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, content: Buffer.from(content) });
    fs.writeFileSync(file, tarBuffer([entry('index.json', '{"schemaVersion":2,"manifests":[]}'), entry('../x', 'escape')]));
    const err = await new OciArchiveSource(file).manifest().catch((e: Error) => e);
    expect(String(err)).to.match(/refusing archive entry "\.\.\/x"/);
  });

  it('names a ref that is not in the archive, listing those that are', async () => {
    sh(`skopeo copy -q oci:${img}:t oci-archive:${work}/s.tar:x`);
    const err = await new OciArchiveSource(`${work}/s.tar`, { ref: 'y' }).manifest().catch((e: Error) => e);
    expect(String(err)).to.contain('no image named "y" in the layout (refs: x)');
  });
});
