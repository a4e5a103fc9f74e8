/**
 * `docker-archive:file[:ref]`: the `docker save` format, in both directions. Both layouts docker save has
 * written are read through manifest.json: `<id>/layer.tar` + `<hex>.json` (before Docker 25) and
 * `blobs/sha256/<hex>` (Docker 25 on); layers may be gzip-compressed. As containers/image does, the source
 * presents a Docker schema 2 manifest whose layers are the uncompressed tars, addressed by diff id. The
 * destination writes what skopeo writes, byte for byte: uncompressed `<diff-id>.tar` layers, `<config>.json`,
 * the legacy per-layer directories, manifest.json and repositories.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError } from '../errors.js';
import { formatReference, normalizeDocker } from '../image/reference.js';
import type { ImageDestination, ImageSource, RawManifest, TransportName } from '../image/transport.js';
import { MediaType, type Descriptor, type ImageConfig, type Manifest } from '../image/types.js';
import type { TarEntry } from '../commit/tar-writer.js';
import { tmpName, fileWriteStream } from '../store/atomic.js';
import { digestOf, verifier } from './copy-image.js';
import { legacyLayers, repositoriesFile } from './docker-legacy.js';
import { TarFile, compressionOf, decompressed, gunzipped, writeTarFile, type TarMember } from './tar-file.js';
import { parseDockerArchiveName, selectorSuffix, type ImageSelector } from './transport-name.js';

/** One element of manifest.json. */
interface ManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

interface Layer {
  member: TarMember;
  gzip: boolean;
  /** Uncompressed size. */
  size: number;
}

interface Loaded {
  tar: TarFile;
  config: Buffer;
  configDigest: string;
  layers: Map<string, Layer>;
  manifest: Buffer;
}

function archiveError(what: string, message: string): HodError {
  return new HodError('EARCHIVE', `${what}: ${message}`);
}

async function countBytes(s: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of s) n += (chunk as Buffer).length;
  return n;
}

export class DockerArchiveSource implements ImageSource {
  readonly description: string;
  private loaded: Promise<Loaded> | undefined;

  constructor(private readonly file: string, private readonly select: ImageSelector = {}) {
    this.description = `docker-archive:${file}${selectorSuffix(select)}`;
  }

  private chooseItem(items: ManifestItem[]): ManifestItem {
    const tags = items.flatMap((i) => i.RepoTags ?? []);
    const list = tags.join(', ') || 'none';
    if (this.select.ref !== undefined) {
      const hit = items.find((i) => (i.RepoTags ?? []).some((t) => formatReference(normalizeDocker(t)) === this.select.ref));
      if (!hit) throw new HodError('ENOTFOUND', `${this.description}: no image tagged "${this.select.ref}" in the archive (tags: ${list})`);
      return hit;
    }
    if (this.select.index !== undefined) {
      if (this.select.index >= items.length) throw new HodError('ENOTFOUND', `${this.description}: no image @${this.select.index}: the archive holds ${items.length}`);
      return items[this.select.index];
    }
    if (items.length !== 1) throw new HodError('ENOTFOUND', `${this.description}: the archive holds ${items.length} images: name one (tags: ${list})`);
    return items[0];
  }

  private async load(): Promise<Loaded> {
    const tar = await TarFile.open(this.file);
    try {
      const mj = tar.find('manifest.json');
      if (!mj) throw archiveError(this.description, 'no manifest.json: not a docker save archive (or one from before Docker 1.10)');
      const item = this.chooseItem(JSON.parse(tar.read(mj).toString()) as ManifestItem[]);
      const cm = tar.find(item.Config);
      if (!cm) throw archiveError(this.description, `the config ${item.Config} named by manifest.json is missing`);
      const config = tar.read(cm);
      const diffIds = (JSON.parse(config.toString()) as ImageConfig).rootfs?.diff_ids ?? [];
      if (diffIds.length !== item.Layers.length) throw archiveError(this.description, `manifest.json lists ${item.Layers.length} layers, the config ${diffIds.length} diff ids`);
      const layers = new Map<string, Layer>();
      for (const [i, diffId] of diffIds.entries()) {
        if (layers.has(diffId)) continue; // the same layer twice: docker save links the copies
        const member = tar.find(item.Layers[i]);
        if (!member) throw archiveError(this.description, `layer ${item.Layers[i]} (diff id ${diffId}) is missing`);
        const kind = compressionOf(tar.read(member, 6));
        if (kind !== 'none' && kind !== 'gzip') throw archiveError(this.description, `layer ${item.Layers[i]} is ${kind}-compressed; hod reads plain and gzip layers`);
        const gzip = kind === 'gzip';
        // the manifest needs the uncompressed size, so a compressed layer is read through once here
        const size = gzip ? await countBytes(gunzipped(tar.stream(member))) : member.size;
        layers.set(diffId, { member, gzip, size });
      }
      // containers/image's manifest, in Go's field order, with one deliberate difference: it labels these
      // uncompressed layers ".tar.gzip" (its DockerV2Schema2LayerMediaType); hod says ".tar", so a conversion
      // to OCI does not claim gzip for plain bytes. Digests and sizes are the ones skopeo reports.
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, size: config.length, digest: digestOf(config) },
        layers: diffIds.map((d) => ({ mediaType: MediaType.dockerLayer, size: layers.get(d)!.size, digest: d })),
      }));
      return { tar, config, configDigest: digestOf(config), layers, manifest };
    } catch (err) {
      tar.close();
      throw err;
    }
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const l = await (this.loaded ??= this.load());
    if (digest !== undefined && digest !== digestOf(l.manifest)) throw new HodError('ENOTFOUND', `${this.description}: no manifest ${digest} (an archive holds no manifest lists)`);
    return { bytes: l.manifest, mediaType: MediaType.dockerManifest };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const l = await (this.loaded ??= this.load());
    if (desc.digest === l.configDigest) return Readable.from([l.config]);
    const layer = l.layers.get(desc.digest);
    if (!layer) throw new HodError('ENOTFOUND', `${this.description}: blob ${desc.digest} is not in the archive`);
    const raw = l.tar.stream(layer.member);
    return layer.gzip ? gunzipped(raw) : raw;
  }

  async close(): Promise<void> {
    if (this.loaded) (await this.loaded.catch(() => undefined))?.tar.close();
  }
}

interface Staged {
  file: string;
  /** Digest of what was stored: the uncompressed tar's for a layer (its diff id). */
  stored: string;
  size: number;
}

/**
 * Writes one image as a docker save archive. Layers are stored uncompressed, as docker save stores them,
 * and must unpack to the config's diff ids. Refuses an existing non-empty file, as skopeo does; the archive
 * is assembled beside the target and appears by rename on commit().
 */
export class DockerArchiveDestination implements ImageDestination {
  readonly description: string;
  /** Every blob is hashed as it is written and refused on a mismatch. */
  readonly checksDigests = true;
  private staging: string | undefined;
  private readonly staged = new Map<string, Staged>();
  private entries: TarEntry[] | undefined;

  /** `ref` is a normalised "domain/path:tag" (see parseDockerArchiveName). */
  constructor(private readonly file: string, private readonly ref?: string) {
    this.description = `docker-archive:${file}${ref ? `:${ref}` : ''}`;
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st && (!st.isFile() || st.size > 0)) throw new HodError('EEXIST', `${this.description}: ${file} exists; docker-archive does not add images to an existing archive (remove it first)`);
    if (!fs.existsSync(path.dirname(path.resolve(file)))) throw new HodError('ENOTFOUND', `${this.description}: directory ${path.dirname(path.resolve(file))} does not exist`);
  }

  private dir(): string {
    if (!this.staging) {
      this.staging = tmpName(path.dirname(path.resolve(this.file)), `.${path.basename(this.file)}.hod-blobs`);
      fs.mkdirSync(this.staging);
    }
    return this.staging;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.staged.has(desc.digest);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const dir = this.dir();
    const tmp = tmpName(dir, '.blob');
    const isConfig = desc.mediaType === MediaType.ociConfig || desc.mediaType === MediaType.dockerConfig;
    const hash = crypto.createHash('sha256');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      const check = verifier(desc, this.description);
      const out = fileWriteStream(tmp);
      if (isConfig) await pipeline(data, check, measure, out);
      else await pipeline(data, check, decompressed(`${this.description}: layer ${desc.digest}`), measure, out);
      const stored = `sha256:${hash.digest('hex')}`;
      const file = path.join(dir, stored.slice(7));
      fs.renameSync(tmp, file);
      this.staged.set(desc.digest, { file, stored, size });
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const m = JSON.parse(raw.bytes.toString()) as Manifest & { manifests?: unknown };
    if (opts.child || m.manifests || !m.config || !Array.isArray(m.layers)) {
      throw new HodError('EFORMAT', `${this.description}: a docker-archive holds single images, not manifest lists: choose a platform`);
    }
    const config = this.staged.get(m.config.digest);
    if (!config) throw new HodError('EINTERNAL', `${this.description}: the config ${m.config.digest} was not stored before the manifest`);
    const configBytes = fs.readFileSync(config.file);
    const diffIds = (JSON.parse(configBytes.toString()) as ImageConfig).rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.layers.length) throw new HodError('EDIGEST', `${this.description}: the manifest has ${m.layers.length} layers, the config ${diffIds.length} diff ids`);
    const layers = m.layers.map((l, i) => {
      const s = this.staged.get(l.digest);
      if (!s) throw new HodError('EINTERNAL', `${this.description}: layer ${l.digest} was not stored before the manifest`);
      if (s.stored !== diffIds[i]) throw new HodError('EDIGEST', `${this.description}: layer ${i + 1} (${l.digest}) unpacks to ${s.stored}, but the config's diff_id is ${diffIds[i]}`);
      return s;
    });
    this.entries = archiveEntries(layers, config, configBytes, this.ref ? [this.ref] : []);
  }

  async commit(): Promise<void> {
    if (!this.entries) throw new HodError('EINTERNAL', `${this.description}: commit before the image's manifest was stored`);
    await writeTarFile(this.file, this.entries);
  }

  async close(): Promise<void> {
    if (this.staging) fs.rmSync(this.staging, { recursive: true, force: true });
  }
}

/** The members in skopeo's order: layers, config, legacy directories, manifest.json, repositories. */
function archiveEntries(layers: Staged[], config: Staged, configBytes: Buffer, repoTags: string[]): TarEntry[] {
  const file = (p: string, e: Partial<TarEntry>): TarEntry => ({ path: p, type: 'file', mode: 0o444, uid: 0, gid: 0, mtime: 0, ...e });
  const hex = (d: string) => d.slice(d.indexOf(':') + 1);
  const out: TarEntry[] = [];
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.stored)) continue;
    seen.add(l.stored);
    out.push(file(`${hex(l.stored)}.tar`, { size: l.size, source: l.file }));
  }
  out.push(file(`${hex(config.stored)}.json`, { content: configBytes }));
  const legacy = legacyLayers(layers.map((l) => l.stored), configBytes);
  const ids = new Set<string>();
  legacy.forEach(({ id, json }, i) => {
    if (ids.has(id)) return;
    ids.add(id);
    out.push({ path: `${id}/layer.tar`, type: 'symlink', linkname: `../${hex(layers[i].stored)}.tar`, mode: 0, uid: 0, gid: 0, mtime: 0 });
    out.push(file(`${id}/VERSION`, { content: Buffer.from('1.0') }));
    out.push(file(`${id}/json`, { content: Buffer.from(json) }));
  });
  const item = { Config: `${hex(config.stored)}.json`, RepoTags: repoTags, Layers: layers.map((l) => `${hex(l.stored)}.tar`) };
  out.push(file('manifest.json', { content: Buffer.from(JSON.stringify([item])) }));
  out.push(file('repositories', { content: Buffer.from(repositoriesFile(repoTags, legacy.at(-1)?.id)) }));
  return out;
}

export function openDockerArchiveSource(t: TransportName): DockerArchiveSource {
  const { path: file, ...select } = parseDockerArchiveName(t);
  return new DockerArchiveSource(file, select);
}

export function openDockerArchiveDestination(t: TransportName): DockerArchiveDestination {
  const { path: file, ref, index } = parseDockerArchiveName(t);
  if (index !== undefined) throw new HodError('EUSAGE', `docker-archive:${t.rest}: a destination is named by a tag, not by @${index}`);
  return new DockerArchiveDestination(file, ref);
}
