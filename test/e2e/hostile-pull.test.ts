import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { expect } from 'chai';
import { hod, hodOk, tempRoot } from '../helpers.js';

const sha = (b: Buffer | string) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

type Kind = 'symlink' | 'dotdot' | 'absolute' | 'relative-symlink';

/** A tar with one harmless file and one entry that tries to leave the root in the given way. */
async function hostileTar(kind: Kind, outside: string, tag: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'ok', mode: 0o644 }, 'fine');
  if (kind === 'symlink') {
    pack.entry({ name: 'evil', type: 'symlink', linkname: outside });
    pack.entry({ name: 'evil/pwned', mode: 0o644 }, 'through the link');
  } else if (kind === 'relative-symlink') {
    pack.entry({ name: 'evil', type: 'symlink', linkname: `../../../../../../../../..${outside}` });
    pack.entry({ name: 'evil/pwned', mode: 0o644 }, 'through the link');
  } else if (kind === 'dotdot') {
    pack.entry({ name: `../escape-${tag}`, mode: 0o644 }, 'up and out');
  } else {
    pack.entry({ name: `/tmp/abs-${tag}`, mode: 0o644 }, 'absolute');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

describe('a hostile layer pulled into the store (dir: transport, the pull path every transport shares)', function () {
  this.timeout(60_000);

  for (const kind of ['symlink', 'relative-symlink', 'dotdot', 'absolute'] as Kind[]) it(`never writes outside the layer directory (${kind})`, async function () {
    const t = tempRoot();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-hostile-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-outside-'));
    const tag = crypto.randomBytes(4).toString('hex');
    try {
      const layer = await hostileTar(kind, outside, tag);
      const gz = zlib.gzipSync(layer);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(gz), size: gz.length }],
      };
      const dir = path.join(work, 'img');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      fs.writeFileSync(path.join(dir, sha(config).slice(7)), config);
      fs.writeFileSync(path.join(dir, sha(gz).slice(7)), gz);

      const r = hod(t.root, ['pull', '-q', `dir:${dir}`]);
      expect(fs.readdirSync(outside), 'nothing through the symlink').to.deep.equal([]);
      expect(fs.existsSync(`/tmp/abs-${tag}`), 'nothing at the absolute path').to.equal(false);
      for (const base of [t.root, path.join(t.root, 'layers'), path.join(t.root, 'tmp'), work, os.tmpdir()]) {
        expect(fs.existsSync(path.join(base, `escape-${tag}`)), `nothing escaped next to ${base}`).to.equal(false);
      }
      if (r.status === 0) {
        // contained: the image exists and its files stayed inside its own root
        const c = hodOk(t.root, ['from', '--pull', 'never', r.stdout]);
        const m = hodOk(t.root, ['mount', c]);
        expect(fs.readFileSync(path.join(m, 'ok'), 'utf8')).to.equal('fine');
        expect(fs.readdirSync(outside)).to.deep.equal([]);
      } else {
        expect(r.status).to.equal(125);
        expect(r.stderr).to.match(/refusing archive entry/);
        expect(hodOk(t.root, ['images', '-q'])).to.equal('');
      }
    } finally {
      t.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
      fs.rmSync(`/tmp/abs-${tag}`, { force: true });
    }
  });
});
