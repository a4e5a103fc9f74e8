/**
 * `dir:path`: containers/image's directory transport, in both directions: `manifest.json`, a `version`
 * file, and every blob under its hex digest.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError, NotFoundError } from '../errors.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import { tmpName, writeFileAtomic } from '../store/atomic.js';
import { digestOf, verifier } from './copy-image.js';

const VERSION = 'Directory Transport Version: 1.1\n';

function blobFile(dir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new HodError('EDIGEST', `invalid digest "${digest}"`);
  return path.join(dir, hex);
}

function mediaTypeOf(bytes: Buffer): string {
  const m = JSON.parse(bytes.toString()) as { mediaType?: string; manifests?: unknown };
  return m.mediaType ?? (m.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json');
}

export class DirSource implements ImageSource {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `dir:${dir}`;
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new NotFoundError('image directory', dir);
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const file = digest ? path.join(this.dir, `${digest.replace(/^sha256:/, '')}.manifest.json`) : path.join(this.dir, 'manifest.json');
    if (!fs.existsSync(file)) throw new NotFoundError('manifest', digest ?? file);
    const bytes = fs.readFileSync(file);
    return { bytes, mediaType: mediaTypeOf(bytes) };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const file = blobFile(this.dir, desc.digest);
    if (!fs.existsSync(file)) throw new NotFoundError('blob', `${desc.digest} in ${this.dir}`);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {}
}

export class DirDestination implements ImageDestination {
  readonly description: string;
  private readonly staged: string[] = [];

  constructor(private readonly dir: string) {
    this.description = `dir:${dir}`;
    fs.mkdirSync(dir, { recursive: true });
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return fs.existsSync(blobFile(this.dir, desc.digest));
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const staged = tmpName(this.dir, '.hod-blob');
    this.staged.push(staged);
    await pipeline(data, verifier(desc, this.description), fs.createWriteStream(staged, { mode: 0o644 }));
    fs.renameSync(staged, blobFile(this.dir, desc.digest));
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const name = opts.child ? `${digestOf(raw.bytes).replace('sha256:', '')}.manifest.json` : 'manifest.json';
    writeFileAtomic(path.join(this.dir, name), raw.bytes, this.dir);
  }

  async commit(): Promise<void> {
    writeFileAtomic(path.join(this.dir, 'version'), VERSION, this.dir);
  }

  async close(): Promise<void> {
    for (const f of this.staged) fs.rmSync(f, { force: true });
  }
}
