/**
 * `oci:path[:ref]`: an OCI image layout directory (image-spec image-layout.md), in both directions. The ref
 * is the `org.opencontainers.image.ref.name` annotation in index.json; index.json and oci-layout are
 * written byte for byte as skopeo writes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError } from '../errors.js';
import type { ImageDestination, ImageSource, RawManifest, TransportName } from '../image/transport.js';
import { MediaType, type Descriptor, type Index } from '../image/types.js';
import { tmpName, writeFileAtomic, fileWriteStream } from '../store/atomic.js';
import { REF_NAME } from '../store/images.js';
import { digestOf, verifier } from './copy-image.js';
import { parseLayoutName, selectorSuffix, type ImageSelector } from './transport-name.js';

/** skopeo's oci-layout file, space included. */
const LAYOUT_FILE = '{"imageLayoutVersion": "1.0.0"}';

/** `blobs/<alg>/<hex>`, from a digest that cannot name anything else. */
export function blobName(digest: string): string {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  if (!m || (m[1] === 'sha256' && !/^[a-f0-9]{64}$/.test(m[2]))) throw new HodError('EDIGEST', `invalid digest "${digest}"`);
  return `blobs/${m[1]}/${m[2]}`;
}

/** The media type a manifest declares, or the one its shape implies (image-spec guidance). */
export function manifestMediaType(bytes: Buffer): string {
  const m = JSON.parse(bytes.toString()) as { mediaType?: string; manifests?: unknown };
  return m.mediaType ?? (Array.isArray(m.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
}

/** Read access to a layout's files, by layout-relative name: a directory, or the members of a tar. */
export interface LayoutFiles {
  read(name: string): Promise<Buffer | undefined>;
  open(name: string): Promise<Readable | undefined>;
  close(): Promise<void>;
}

function dirFiles(dir: string): LayoutFiles {
  const exists = (name: string) => fs.existsSync(path.join(dir, name));
  return {
    read: async (name) => (exists(name) ? fs.readFileSync(path.join(dir, name)) : undefined),
    open: async (name) => (exists(name) ? fs.createReadStream(path.join(dir, name), { highWaterMark: 1 << 20 }) : undefined),
    close: async () => {},
  };
}

/** The index entry `select` names: by ref, by position, or the only one; errors list the refs there. */
function choose(index: Index, select: ImageSelector, where: string): Descriptor {
  const all = index.manifests ?? [];
  const refs = all.map((d) => d.annotations?.[REF_NAME]).filter(Boolean).join(', ') || 'none';
  if (select.ref !== undefined) {
    const hit = all.find((d) => d.annotations?.[REF_NAME] === select.ref);
    if (!hit) throw new HodError('ENOTFOUND', `${where}: no image named "${select.ref}" in the layout (refs: ${refs})`);
    return hit;
  }
  if (select.index !== undefined) {
    if (select.index >= all.length) throw new HodError('ENOTFOUND', `${where}: no image @${select.index}: the layout holds ${all.length}`);
    return all[select.index];
  }
  if (all.length !== 1) throw new HodError('ENOTFOUND', `${where}: the layout holds ${all.length} images: name one (refs: ${refs})`);
  return all[0];
}

/** An image in an OCI layout, read through LayoutFiles. Blob streams are raw; the caller verifies them. */
export class LayoutSource implements ImageSource {
  private top: Promise<Descriptor> | undefined;

  constructor(readonly description: string, private readonly files: LayoutFiles, private readonly select: ImageSelector) {}

  private async topDescriptor(): Promise<Descriptor> {
    this.top ??= (async () => {
      const bytes = await this.files.read('index.json');
      if (!bytes) throw new HodError('ENOTFOUND', `${this.description}: not an OCI image layout (no index.json)`);
      let index: Index;
      try {
        index = JSON.parse(bytes.toString()) as Index;
      } catch (err) {
        throw new HodError('ELAYOUT', `${this.description}: index.json: ${(err as Error).message}`);
      }
      return choose(index, this.select, this.description);
    })();
    return this.top;
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const top = digest === undefined ? await this.topDescriptor() : undefined;
    const d = digest ?? top!.digest;
    const bytes = await this.files.read(blobName(d));
    if (!bytes) throw new HodError('ENOTFOUND', `${this.description}: manifest ${d} is missing from the layout`);
    if (top) {
      // the caller can only check an index child against its digest; the top one is ours to check
      const got = digestOf(bytes);
      if (got !== d || bytes.length !== top.size) throw new HodError('EDIGEST', `${this.description}: manifest ${d} has digest ${got} and ${bytes.length} bytes (index.json says ${top.size})`);
    }
    return { bytes, mediaType: top?.mediaType || manifestMediaType(bytes) };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const s = await this.files.open(blobName(desc.digest));
    if (!s) throw new HodError('ENOTFOUND', `${this.description}: blob ${desc.digest} is missing from the layout`);
    return s;
  }

  async close(): Promise<void> {
    await this.files.close();
  }
}

export class OciLayoutSource extends LayoutSource {
  /** `select` is a ref name, `{ index }` for `@N`, or nothing for the only image. */
  constructor(dir: string, select?: string | ImageSelector) {
    const sel = typeof select === 'string' ? { ref: select } : (select ?? {});
    super(`oci:${dir}${selectorSuffix(sel)}`, dirFiles(dir), sel);
  }
}

/**
 * Writes an image into a layout, new or existing. Blobs and manifests are staged under temporary names
 * beside their final ones and renamed into place by commit(), which writes index.json last; the ref moves
 * to the new image as skopeo moves it (the old entry stays, unnamed). close() without a commit removes
 * the staged files and the directories this destination created.
 */
export class OciLayoutDestination implements ImageDestination {
  readonly description: string;
  /** Every blob is hashed as it is written and refused on a mismatch. */
  readonly checksDigests = true;
  /** final path -> staged temporary file */
  private readonly pending = new Map<string, string>();
  private readonly created: string[] = [];
  private top: Descriptor | undefined;
  private committed = false;

  constructor(private readonly dir: string, private readonly ref?: string) {
    this.description = `oci:${dir}${ref ? `:${ref}` : ''}`;
  }

  private stagePath(digest: string): { final: string; tmp: string } {
    const final = path.join(this.dir, blobName(digest));
    const parent = path.dirname(final);
    if (!fs.existsSync(parent)) {
      const first = fs.mkdirSync(parent, { recursive: true });
      // remember every directory made here, so close() can take them away again
      if (first) for (let d = parent; ; d = path.dirname(d)) {
        this.created.push(d);
        if (d === first) break;
      }
    }
    return { final, tmp: tmpName(parent, `.hod-${path.basename(final).slice(0, 12)}`) };
  }

  private stage(final: string, tmp: string): void {
    const old = this.pending.get(final);
    if (old && old !== tmp) fs.rmSync(old, { force: true });
    this.pending.set(final, tmp);
  }

  /** Whether index.json already names this manifest as this destination would (same ref, or unnamed). */
  async hasManifest(digest: string): Promise<boolean> {
    let index: Index;
    try {
      index = JSON.parse(fs.readFileSync(path.join(this.dir, 'index.json'), 'utf8')) as Index;
    } catch {
      return false;
    }
    return (index.manifests ?? []).some((d) => d.digest === digest && d.annotations?.[REF_NAME] === this.ref && fs.existsSync(path.join(this.dir, blobName(digest))));
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    const final = path.join(this.dir, blobName(desc.digest));
    return this.pending.has(final) || fs.existsSync(final);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const { final, tmp } = this.stagePath(desc.digest);
    try {
      await pipeline(data, verifier(desc, this.description), fileWriteStream(tmp));
      const fd = fs.openSync(tmp, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    this.stage(final, tmp);
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const digest = digestOf(raw.bytes);
    const { final, tmp } = this.stagePath(digest);
    try {
      writeFileAtomic(tmp, raw.bytes, path.dirname(tmp));
    } finally {
      this.stage(final, tmp); // so close() removes whatever a failed write left
    }
    if (!opts.child) this.top = { mediaType: raw.mediaType || manifestMediaType(raw.bytes), digest, size: raw.bytes.length };
  }

  async commit(): Promise<void> {
    if (!this.top) throw new HodError('EINTERNAL', `${this.description}: commit before the image's manifest was stored`);
    for (const [final, tmp] of this.pending) {
      if (fs.existsSync(final)) fs.rmSync(tmp, { force: true });
      else fs.renameSync(tmp, final);
    }
    this.pending.clear();
    const layout = path.join(this.dir, 'oci-layout');
    if (!fs.existsSync(layout)) writeFileAtomic(layout, LAYOUT_FILE, this.dir);
    const file = path.join(this.dir, 'index.json');
    let index: Index;
    try {
      index = JSON.parse(fs.readFileSync(file, 'utf8')) as Index;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new HodError('ELAYOUT', `${file}: ${(err as Error).message}`);
      index = { schemaVersion: 2, manifests: [] };
    }
    index.manifests = addManifest(index.manifests ?? [], this.ref ? { ...this.top, annotations: { [REF_NAME]: this.ref } } : this.top);
    writeFileAtomic(file, JSON.stringify(index), this.dir);
    this.committed = true;
  }

  async close(): Promise<void> {
    if (this.committed) return;
    for (const tmp of this.pending.values()) fs.rmSync(tmp, { force: true });
    this.pending.clear();
    for (const d of [...this.created].sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty: someone else wrote there meanwhile
      }
    }
  }
}

/** containers/image's addManifest: the name leaves its old entry; an unnamed entry of the same digest is replaced. */
function addManifest(list: Descriptor[], desc: Descriptor): Descriptor[] {
  const out = list.map((d) => ({ ...d }));
  const name = desc.annotations?.[REF_NAME];
  if (name) {
    const i = out.findIndex((d) => d.annotations?.[REF_NAME] === name);
    if (i >= 0) {
      const { [REF_NAME]: _moved, ...rest } = out[i].annotations!;
      out[i] = { ...out[i], annotations: Object.keys(rest).length ? rest : undefined };
    }
  }
  const same = out.findIndex((d) => d.digest === desc.digest && !d.annotations?.[REF_NAME]);
  if (same >= 0) out[same] = desc;
  else out.push(desc);
  return out;
}

export function openOciLayoutSource(t: TransportName): OciLayoutSource {
  const { path: dir, ...select } = parseLayoutName(t);
  return new OciLayoutSource(dir, select);
}

export function openOciLayoutDestination(t: TransportName): OciLayoutDestination {
  const { path: dir, ref, index } = parseLayoutName(t);
  if (index !== undefined) throw new HodError('EUSAGE', `oci:${t.rest}: a destination is named by a ref, not by @${index}`);
  return new OciLayoutDestination(dir, ref);
}
