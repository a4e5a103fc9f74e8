/**
 * `oci:path[:ref]`: an OCI image layout directory (image-layout spec), in both directions. The ref is the
 * `org.opencontainers.image.ref.name` annotation in index.json, as skopeo writes and reads it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError, NotFoundError } from '../errors.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor, type Index } from '../image/types.js';
import { tmpName, writeFileAtomic } from '../store/atomic.js';
import { REF_NAME } from '../store/images.js';
import { digestOf, verifier } from './copy-image.js';

function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  if (!alg || !hex || !/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]+$/.test(hex)) throw new HodError('EDIGEST', `invalid digest "${digest}"`);
  return path.join(dir, 'blobs', alg, hex);
}

function readIndex(dir: string): Index {
  const file = path.join(dir, 'index.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Index;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('OCI layout', dir);
    throw new HodError('ELAYOUT', `${file}: ${(err as Error).message}`);
  }
}

export class OciLayoutSource implements ImageSource {
  readonly description: string;
  private readonly top: Descriptor;

  constructor(private readonly dir: string, ref?: string) {
    this.description = `oci:${dir}${ref ? `:${ref}` : ''}`;
    const all = readIndex(dir).manifests;
    const named = (d: Descriptor) => d.annotations?.[REF_NAME];
    const hits = ref === undefined ? all : all.filter((d) => named(d) === ref);
    if (hits.length !== 1) {
      const refs = all.map(named).filter(Boolean).join(', ') || 'none';
      throw new HodError('ENOTFOUND', ref === undefined
        ? `${this.description}: the layout holds ${all.length} images: name one (refs: ${refs})`
        : `${this.description}: no image named "${ref}" in the layout (refs: ${refs})`);
    }
    this.top = hits[0];
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const d = digest ?? this.top.digest;
    const file = blobPath(this.dir, d);
    if (!fs.existsSync(file)) throw new NotFoundError('manifest blob', `${d} in ${this.dir}`);
    const bytes = fs.readFileSync(file);
    const got = digestOf(bytes);
    if (got !== d) throw new HodError('EDIGEST', `${this.description}: manifest ${d} has digest ${got}`);
    const mediaType = digest ? (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ?? '' : this.top.mediaType;
    return { bytes, mediaType };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const file = blobPath(this.dir, desc.digest);
    if (!fs.existsSync(file)) throw new NotFoundError('blob', `${desc.digest} in ${this.dir}`);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {}
}

export class OciLayoutDestination implements ImageDestination {
  readonly description: string;
  private readonly staged: string[] = [];
  private top: Descriptor | undefined;

  constructor(private readonly dir: string, private readonly ref?: string) {
    this.description = `oci:${dir}${ref ? `:${ref}` : ''}`;
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    const layout = path.join(dir, 'oci-layout');
    if (!fs.existsSync(layout)) fs.writeFileSync(layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return fs.existsSync(blobPath(this.dir, desc.digest));
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const staged = tmpName(this.dir, '.hod-blob');
    this.staged.push(staged);
    await pipeline(data, verifier(desc, this.description), fs.createWriteStream(staged, { mode: 0o644 }));
    fs.mkdirSync(path.dirname(blobPath(this.dir, desc.digest)), { recursive: true });
    fs.renameSync(staged, blobPath(this.dir, desc.digest));
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const digest = digestOf(raw.bytes);
    const file = blobPath(this.dir, digest);
    if (!fs.existsSync(file)) writeFileAtomic(file, raw.bytes, this.dir);
    if (!opts.child) this.top = { mediaType: raw.mediaType, digest, size: raw.bytes.length };
  }

  async commit(): Promise<void> {
    if (!this.top) throw new Error('OciLayoutDestination.commit before putManifest');
    let index: Index;
    try {
      index = readIndex(this.dir);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    }
    const desc: Descriptor = this.ref ? { ...this.top, annotations: { [REF_NAME]: this.ref } } : this.top;
    // the name moves to the new image; an unnamed write replaces nothing
    index.manifests = index.manifests.filter((d) => !(this.ref && d.annotations?.[REF_NAME] === this.ref));
    index.manifests.push(desc);
    writeFileAtomic(path.join(this.dir, 'index.json'), JSON.stringify(index), this.dir);
  }

  async close(): Promise<void> {
    for (const f of this.staged) fs.rmSync(f, { force: true });
  }
}
