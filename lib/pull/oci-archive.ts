/**
 * `oci-archive:file[:ref]`: an OCI image layout in a tar file, in both directions. The source reads the
 * layout's files as byte ranges of the archive (no unpacking); the destination builds a fresh layout beside
 * the target and tars it over the target on commit, replacing an existing archive as skopeo does.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { HodError } from '../errors.js';
import type { ImageDestination, RawManifest, TransportName } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import type { TarEntry } from '../commit/tar-writer.js';
import { tmpName } from '../store/atomic.js';
import { LayoutSource, OciLayoutDestination, type LayoutFiles } from './oci-layout.js';
import { TarFile, writeTarFile } from './tar-file.js';
import { parseLayoutName, selectorSuffix, type ImageSelector } from './transport-name.js';

function tarFiles(file: string): LayoutFiles {
  let opened: Promise<TarFile> | undefined;
  const tar = () => (opened ??= TarFile.open(file));
  return {
    async read(name) {
      const t = await tar();
      const m = t.find(name);
      return m && t.read(m);
    },
    async open(name) {
      const t = await tar();
      const m = t.find(name);
      return m && t.stream(m);
    },
    async close() {
      if (opened) (await opened.catch(() => undefined))?.close();
    },
  };
}

export class OciArchiveSource extends LayoutSource {
  constructor(file: string, select: ImageSelector = {}) {
    super(`oci-archive:${file}${selectorSuffix(select)}`, tarFiles(file), select);
  }
}

/** A layout directory as tar entries in skopeo's order (a sorted walk); owners and times are zeroed. */
function layoutEntries(dir: string, rel = ''): TarEntry[] {
  const out: TarEntry[] = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = fs.lstatSync(path.join(dir, r));
    if (st.isDirectory()) {
      out.push({ path: r, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
      out.push(...layoutEntries(dir, r));
    } else {
      out.push({ path: r, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: st.size, source: path.join(dir, r) });
    }
  }
  return out;
}

export class OciArchiveDestination implements ImageDestination {
  readonly description: string;
  /** Every blob is hashed as it is written and refused on a mismatch. */
  readonly checksDigests = true;
  private staging: string | undefined;
  private layout: OciLayoutDestination | undefined;

  constructor(private readonly file: string, private readonly ref?: string) {
    this.description = `oci-archive:${file}${ref ? `:${ref}` : ''}`;
    if (!fs.existsSync(path.dirname(path.resolve(file)))) throw new HodError('ENOTFOUND', `${this.description}: directory ${path.dirname(path.resolve(file))} does not exist`);
  }

  /** The layout being built, in a directory beside the target so the finished tar lands by rename. */
  private inner(): OciLayoutDestination {
    if (!this.layout) {
      this.staging = tmpName(path.dirname(path.resolve(this.file)), `.${path.basename(this.file)}.hod-layout`);
      fs.mkdirSync(this.staging);
      this.layout = new OciLayoutDestination(this.staging, this.ref);
    }
    return this.layout;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.layout ? this.layout.hasBlob(desc) : false;
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    await this.inner().putBlob(desc, data);
  }

  async putManifest(raw: RawManifest, opts?: { child?: boolean }): Promise<void> {
    await this.inner().putManifest(raw, opts);
  }

  async commit(): Promise<void> {
    const layout = this.inner();
    await layout.commit();
    await writeTarFile(this.file, layoutEntries(this.staging!));
  }

  async close(): Promise<void> {
    await this.layout?.close();
    if (this.staging) fs.rmSync(this.staging, { recursive: true, force: true });
  }
}

export function openOciArchiveSource(t: TransportName): OciArchiveSource {
  const { path: file, ...select } = parseLayoutName(t);
  return new OciArchiveSource(file, select);
}

export function openOciArchiveDestination(t: TransportName): OciArchiveDestination {
  const { path: file, ref, index } = parseLayoutName(t);
  if (index !== undefined) throw new HodError('EUSAGE', `oci-archive:${t.rest}: a destination is named by a ref, not by @${index}`);
  return new OciArchiveDestination(file, ref);
}
