/**
 * The copy engine under pull and push: one image from any ImageSource to any ImageDestination. Blobs move
 * a few at a time, each checked against its digest and size as it streams; the manifest goes last, so a
 * destination never names an image whose blobs are missing.
 */
import crypto from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { DigestMismatchError, HodError } from '../errors.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor, type Index, type Manifest, type Platform } from '../image/types.js';
import { convertManifest } from '../push/convert.js';
import type { Signature } from '../signature/types.js';
import { choosePlatform } from './platform.js';

export type ProgressEvent =
  | { kind: 'skip'; desc: Descriptor }
  | { kind: 'start'; desc: Descriptor }
  /** Bytes of the blob through so far; sent for every chunk, so a listener that draws must throttle. */
  | { kind: 'bytes'; desc: Descriptor; done: number }
  | { kind: 'done'; desc: Descriptor };

export interface CopyOptions {
  platform?: Partial<Platform>;
  format?: 'oci' | 'docker';
  /** Blobs in flight at once. */
  jobs?: number;
  progress?: (e: ProgressEvent) => void;
  /**
   * Called with the image manifest as the source has it (for a list, the platform's) before anything is
   * copied: where the signature policy refuses an image, so that nothing of it is stored.
   */
  check?: (manifest: RawManifest, digest: string) => Promise<void>;
  /** Copy none of the source's signatures. */
  removeSignatures?: boolean;
  /** New signatures for the manifest as written, made before any blob moves (push --sign-by). */
  sign?: (manifestDigest: string) => Promise<Signature[]>;
  /** A line for the user (signatures a destination has no place for). */
  warn?: (line: string) => void;
}

export interface CopyResult {
  manifestDigest: string;
  /** The manifest's size as written. */
  size: number;
  configDigest: string;
  manifest: Manifest;
  mediaType: string;
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

function isIndex(mediaType: string, bytes: Buffer): boolean {
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) return true;
  if (mediaType) return false;
  return Array.isArray((JSON.parse(bytes.toString()) as Index).manifests);
}

/** Resolve an index to the manifest for the platform wanted; checks each manifest's digest when it is known. */
export async function imageManifest(src: ImageSource, opts: CopyOptions): Promise<RawManifest> {
  let raw = await src.manifest();
  if (isIndex(raw.mediaType, raw.bytes)) {
    const index = JSON.parse(raw.bytes.toString()) as Index;
    const child = choosePlatform(index.manifests, opts.platform, src.description);
    raw = await src.manifest(child.digest);
    const got = digestOf(raw.bytes);
    if (got !== child.digest) throw new DigestMismatchError(`manifest of ${src.description}`, child.digest, got);
  }
  return raw;
}

/** A pass-through that fails the stream when the bytes do not hash to `desc.digest` or their count is wrong. */
export function verifier(desc: Descriptor, what: string, onBytes?: (done: number) => void, sizeOnly = false): Transform {
  const hash = sizeOnly ? undefined : crypto.createHash(desc.digest.split(':')[0] ?? 'sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > desc.size) return cb(new HodError('EDIGEST', `${what}: blob ${desc.digest} is larger than its ${desc.size} bytes`));
      // hashed after this turn: the chunk's readers (a gunzip, a disk write) start on it first, on other
      // threads, rather than after the 0.75 ms a MiB takes to hash
      if (hash) queueMicrotask(() => hash.update(chunk));
      onBytes?.(size);
      cb(null, chunk);
    },
    flush(cb) {
      if (size !== desc.size) return cb(new HodError('EDIGEST', `${what}: blob ${desc.digest} has ${size} bytes, expected ${desc.size}`));
      if (!hash) return cb();
      // queued after every update
      queueMicrotask(() => {
        const got = `${desc.digest.split(':')[0]}:${hash.digest('hex')}`;
        cb(got === desc.digest ? null : new DigestMismatchError(`${what}: blob`, desc.digest, got));
      });
    },
  });
}

/** Whole-blob attempts after the first, for failures a transport marks retryable (a broken streamed upload). */
const BLOB_RETRIES = 2;

async function copyBlob(src: ImageSource, dst: ImageDestination, desc: Descriptor, opts: CopyOptions, asked?: Promise<boolean>): Promise<void> {
  if (await (asked ?? dst.hasBlob(desc))) {
    opts.progress?.({ kind: 'skip', desc });
    return;
  }
  opts.progress?.({ kind: 'start', desc });
  const progress = opts.progress;
  for (let attempt = 0; ; attempt++) {
    try {
      const data: Readable = await src.blob(desc);
      const checked = data.pipe(verifier(desc, src.description, progress && ((done) => progress({ kind: 'bytes', desc, done })), dst.checksDigests));
      data.on('error', (err) => checked.destroy(err));
      await dst.putBlob(desc, checked);
      break;
    } catch (err) {
      if (attempt >= BLOB_RETRIES || (err as { retryable?: boolean }).retryable !== true) throw err;
    }
  }
  opts.progress?.({ kind: 'done', desc });
}

/** Run `fn` over `items`, `jobs` at a time; the first failure stops new work and is thrown. */
async function pool<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

/**
 * One image's blobs, then its manifest, into `dst`, which is neither committed nor closed. `child`: the
 * manifest is one of a list's, stored by its digest. `present`: `dst` had the image already (nothing sent).
 */
export async function copyManifest(src: ImageSource, dst: ImageDestination, opts: CopyOptions = {}, child = false): Promise<CopyResult & { present: boolean }> {
  const raw = await imageManifest(src, opts);
  const sourceDigest = digestOf(raw.bytes);
  // the policy judges the image manifest that will be stored (a list's chosen one, as containers/image does)
  if (opts.check) await opts.check(raw, sourceDigest);
  const original = JSON.parse(raw.bytes.toString()) as Manifest;
  if (!original.config || !Array.isArray(original.layers)) throw new HodError('EMANIFEST', `${src.description}: not an image manifest`);
  const out = convertManifest(raw, original, opts.format);
  const result = { manifestDigest: digestOf(out.raw.bytes), configDigest: original.config.digest, manifest: out.manifest, mediaType: out.raw.mediaType, size: out.raw.bytes.length };
  const sigs = await signaturesFor(src, dst, sourceDigest, result.manifestDigest, opts);
  const blobs = [original.config, ...original.layers];
  const jobs = opts.jobs ?? 3;
  // the first blobs' existence asked alongside the manifest's: a push to a registry saves a round trip
  const asked = new Map<string, Promise<boolean>>();
  const present = !child && dst.hasManifest?.(result.manifestDigest);
  if (present) {
    for (const d of blobs.slice(0, jobs)) {
      const p = dst.hasBlob(d);
      p.catch(() => {}); // not awaited when the manifest is there; a failure that matters surfaces in copyBlob
      asked.set(d.digest, p);
    }
  }
  if (await present) {
    for (const d of blobs) opts.progress?.({ kind: 'skip', desc: d });
    if (sigs.length) await dst.putSignatures!(result.manifestDigest, sigs);
    return { ...result, present: true };
  }
  dst.prepare?.(blobs);
  await pool(blobs, jobs, (d) => copyBlob(src, dst, d, opts, asked.get(d.digest)));
  await dst.putManifest(out.raw, { child });
  if (sigs.length) await dst.putSignatures!(result.manifestDigest, sigs);
  return { ...result, present: false };
}

/**
 * The signatures the destination gets: the source's, when the manifest keeps its digest (a conversion
 * would make them sign nothing), and the new ones. New ones the destination cannot keep fail the copy
 * before anything moves; the source's are dropped with a warning, as skopeo would refuse the whole copy.
 */
async function signaturesFor(src: ImageSource, dst: ImageDestination, sourceDigest: string, destDigest: string, opts: CopyOptions): Promise<Signature[]> {
  const existing = opts.removeSignatures ? [] : ((await src.signatures?.(sourceDigest)) ?? []);
  if (existing.length && sourceDigest !== destDigest) {
    throw new HodError('ESIGNATURE', `${src.description}: the copy changes the manifest (${sourceDigest} becomes ${destDigest}), which would invalidate its ${existing.length} signature(s): copy with --remove-signatures`);
  }
  const fresh = (await opts.sign?.(destDigest)) ?? [];
  const keeps = (s: Signature): boolean => !!dst.putSignatures && (dst.signatureFormats ?? ['simple-signing', 'sigstore-json']).includes(s.format);
  const refused = fresh.find((s) => !keeps(s));
  if (refused) throw new HodError('ESIGNATURE', `${dst.description}: this destination cannot keep ${refused.format} signatures (dir: and docker:// can)`);
  const dropped = existing.filter((s) => !keeps(s));
  if (dropped.length) opts.warn?.(`${dst.description} has no place for ${dropped.length} ${dropped[0].format} signature(s) of ${src.description}: not copied`);
  return [...existing.filter(keeps), ...fresh];
}

export async function copyImage(src: ImageSource, dst: ImageDestination, opts: CopyOptions = {}): Promise<CopyResult> {
  try {
    const r = await copyManifest(src, dst, opts);
    if (!r.present) await dst.commit();
    return r;
  } finally {
    await Promise.allSettled([src.close(), dst.close()]);
  }
}
