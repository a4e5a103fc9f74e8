/**
 * `dir:path`: containers/image's directory transport, in both directions: `manifest.json`, a `version`
 * file, every blob under its hex digest and index children as `<hex>.manifest.json`. As with skopeo, a
 * directory holds one image and writing replaces what was there; hod builds the new one beside it and swaps
 * the two on commit, so the old image stays whole until then.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HodError } from '../errors.js';
import type { ImageDestination, ImageSource, RawManifest, TransportName } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import { tmpName, writeFileAtomic, fileWriteStream } from '../store/atomic.js';
import { digestOf, verifier } from './copy-image.js';
import { manifestMediaType } from './oci-layout.js';
import { parseDirName } from './transport-name.js';
import { signatureFromBlob, signatureToBlob } from '../signature/blob.js';
import type { Signature } from '../signature/types.js';

const VERSION = 'Directory Transport Version: 1.1\n';

/** As containers/image names them: `signature-N` for manifest.json's, `<hex>.signature-N` for a list's images. */
function signatureFile(n: number, child?: string): string {
  return child ? `${child}.signature-${n}` : `signature-${n}`;
}

function hexOf(digest: string, what: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new HodError('EDIGEST', `${what}: invalid or unsupported digest "${digest}" (dir: stores sha256 blobs)`);
  return m[1];
}

export class DirSource implements ImageSource {
  readonly description: string;

  constructor(private readonly dir: string) {
    this.description = `dir:${dir}`;
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new HodError('ENOTFOUND', `${this.description}: not an image directory (no manifest.json)`);
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const file = path.join(this.dir, digest ? `${hexOf(digest, this.description)}.manifest.json` : 'manifest.json');
    if (!fs.existsSync(file)) throw new HodError('ENOTFOUND', `${this.description}: manifest ${digest} is missing from the directory`);
    const bytes = fs.readFileSync(file);
    return { bytes, mediaType: manifestMediaType(bytes) };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const file = path.join(this.dir, hexOf(desc.digest, this.description));
    if (!fs.existsSync(file)) throw new HodError('ENOTFOUND', `${this.description}: blob ${desc.digest} is missing from the directory`);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async signatures(manifestDigest: string): Promise<Signature[]> {
    const top = digestOf(fs.readFileSync(path.join(this.dir, 'manifest.json')));
    const child = manifestDigest === top ? undefined : hexOf(manifestDigest, this.description);
    const out: Signature[] = [];
    for (let n = 1; ; n++) {
      const file = path.join(this.dir, signatureFile(n, child));
      if (!fs.existsSync(file)) return out;
      out.push(signatureFromBlob(fs.readFileSync(file), `${this.description}: ${path.basename(file)}`));
    }
  }

  async close(): Promise<void> {}
}

export class DirDestination implements ImageDestination {
  readonly description: string;
  /** Every blob is hashed as it is written and refused on a mismatch. */
  readonly checksDigests = true;
  private staging: string | undefined;
  private readonly created: string[] = [];
  private readonly stored = new Set<string>();
  private committed = false;
  /** The directory replaced on commit: a symlink's target, so the link keeps pointing at the image. */
  private readonly dir: string;

  constructor(dir: string) {
    this.description = `dir:${dir}`;
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new HodError('EEXIST', `${this.description}: ${dir} exists and is not a directory`);
    this.dir = st ? fs.realpathSync(dir) : dir;
    const version = path.join(dir, 'version');
    if (st && fs.readdirSync(dir).length > 0 && !(fs.existsSync(version) && fs.readFileSync(version, 'utf8') === VERSION)) {
      throw new HodError('EEXIST', `${this.description}: ${dir} is not empty and is not an image directory (no "version" file): refusing to overwrite it`);
    }
  }

  /** The new image's directory, a sibling of the target so the swap is a rename. */
  private stagingDir(): string {
    if (!this.staging) {
      const parent = path.dirname(path.resolve(this.dir));
      const first = fs.mkdirSync(parent, { recursive: true });
      if (first) for (let d = parent; ; d = path.dirname(d)) {
        this.created.push(d);
        if (d === first) break;
      }
      this.staging = tmpName(parent, `.${path.basename(this.dir)}.hod-dir`);
      fs.mkdirSync(this.staging);
    }
    return this.staging;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.stored.has(desc.digest);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const dir = this.stagingDir();
    const tmp = tmpName(dir, '.blob');
    try {
      await pipeline(data, verifier(desc, this.description), fileWriteStream(tmp));
      fs.renameSync(tmp, path.join(dir, hexOf(desc.digest, this.description)));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    this.stored.add(desc.digest);
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const dir = this.stagingDir();
    const name = opts.child ? `${hexOf(digestOf(raw.bytes), this.description)}.manifest.json` : 'manifest.json';
    writeFileAtomic(path.join(dir, name), raw.bytes, dir);
  }

  async putSignatures(manifestDigest: string, sigs: Signature[]): Promise<void> {
    const dir = this.stagingDir();
    const top = fs.existsSync(path.join(dir, 'manifest.json')) && digestOf(fs.readFileSync(path.join(dir, 'manifest.json'))) === manifestDigest;
    const child = top ? undefined : hexOf(manifestDigest, this.description);
    sigs.forEach((sig, i) => writeFileAtomic(path.join(dir, signatureFile(i + 1, child)), signatureToBlob(sig), dir));
  }

  async commit(): Promise<void> {
    const staging = this.stagingDir();
    if (!fs.existsSync(path.join(staging, 'manifest.json'))) throw new HodError('EINTERNAL', `${this.description}: commit before the image's manifest was stored`);
    writeFileAtomic(path.join(staging, 'version'), VERSION, staging);
    const old = fs.statSync(this.dir, { throwIfNoEntry: false });
    if (!old) {
      fs.renameSync(staging, this.dir);
    } else {
      fs.chmodSync(staging, old.mode & 0o7777);
      const aside = tmpName(path.dirname(path.resolve(this.dir)), `.${path.basename(this.dir)}.hod-old`);
      fs.renameSync(this.dir, aside);
      try {
        fs.renameSync(staging, this.dir);
      } catch (err) {
        fs.renameSync(aside, this.dir);
        throw err;
      }
      fs.rmSync(aside, { recursive: true, force: true });
    }
    this.committed = true;
  }

  async close(): Promise<void> {
    if (this.committed) return;
    if (this.staging) fs.rmSync(this.staging, { recursive: true, force: true });
    for (const d of [...this.created].sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty any more: not ours alone
      }
    }
  }
}

export function openDirSource(t: TransportName): DirSource {
  return new DirSource(parseDirName(t).path);
}

export function openDirDestination(t: TransportName): DirDestination {
  return new DirDestination(parseDirName(t).path);
}
