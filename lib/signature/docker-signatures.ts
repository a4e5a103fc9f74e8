/**
 * Signatures of images in a registry, where containers/image keeps them: simple-signing signatures in
 * look-aside storage (`BASE/REPO@sha256=HEX/signature-N`, read over file://, http:// or https://, written
 * to file:// only), sigstore signatures as an attachment in the registry itself (an OCI manifest tagged
 * `sha256-HEX.sig` whose layers are the payloads, each with its signature in an annotation).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DigestMismatchError } from '../errors.js';
import type { Reference } from '../image/reference.js';
import { MediaType, type Descriptor, type Manifest } from '../image/types.js';
import type { RegistryClient } from '../registry/client.js';
import { httpAgent, httpRequest } from '../registry/http.js';
import { defaultTls } from '../registry/tls.js';
import { writeFileAtomic } from '../store/atomic.js';
import { signatureFromBlob, signatureToBlob } from './blob.js';
import { lookasideBase, sigstoreAttachments, type RegistriesD } from './registries-d.js';
import { SIGSTORE_MIME_TYPE, SignatureError, type Signature } from './types.js';

/** containers/image's limit on one signature's size. */
const MAX_SIGNATURE_BYTES = 4 << 20;
/** Look-aside reads stop at the first missing index; this many at most, against a server that never says 404. */
const MAX_SIGNATURES = 128;

type SigstoreSignature = Extract<Signature, { format: 'sigstore-json' }>;

export interface DockerSignatureOptions {
  registriesD: RegistriesD;
  /** The registry scopes of the reference, most specific first (registries.d entries are keyed by them). */
  scopes: string[];
  /** Read attachments even where registries.d does not say to (a sigstoreSigned policy needs them). */
  readAttachments?: boolean;
}

export function attachmentTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.sig`;
}

function sha256(b: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
}

function lookasideUrl(base: URL, manifestDigest: string, n: number): URL {
  if (!/^sha256:[a-f0-9]{64}$/.test(manifestDigest)) throw new SignatureError('invalid', `unsupported manifest digest "${manifestDigest}" for look-aside signatures`);
  const u = new URL(base.href);
  u.pathname = `${u.pathname}@${manifestDigest.replace(':', '=')}/signature-${n}`;
  return u;
}

async function readLookaside(base: URL, manifestDigest: string): Promise<Signature[]> {
  const out: Signature[] = [];
  const agent = base.protocol === 'file:' ? undefined : httpAgent(() => ({ ...defaultTls() }));
  try {
    for (let n = 1; n <= MAX_SIGNATURES; n++) {
      const url = lookasideUrl(base, manifestDigest, n);
      const bytes = agent ? await httpGet(agent, url) : readFileOrUndefined(fileURLToPath(url));
      if (!bytes) break;
      out.push(signatureFromBlob(bytes, url.href));
    }
  } finally {
    await agent?.close();
  }
  return out;
}

function readFileOrUndefined(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function httpGet(agent: ReturnType<typeof httpAgent>, url: URL): Promise<Buffer | undefined> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SignatureError('policy', `look-aside ${url.href}: only file://, http:// and https:// can be read`);
  let res;
  try {
    res = await httpRequest(agent, url, { redirects: 3 });
  } catch (err) {
    throw new SignatureError('invalid', `reading signature ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (res.statusCode === 404) {
    await res.body.dump();
    return undefined;
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new SignatureError('invalid', `reading signature ${url.href}: HTTP ${res.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > MAX_SIGNATURE_BYTES) throw new SignatureError('invalid', `signature ${url.href} is larger than ${MAX_SIGNATURE_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Replace a manifest's look-aside signatures with `sigs` (signature-1..N; any after N removed). */
function writeLookaside(base: URL, manifestDigest: string, sigs: Signature[]): void {
  if (base.protocol !== 'file:') {
    throw new SignatureError('sign', `look-aside ${base.href} cannot be written (only file:// can): set lookaside-staging to a file:// URL in registries.d and publish that directory`);
  }
  for (let n = 1; ; n++) {
    const file = fileURLToPath(lookasideUrl(base, manifestDigest, n));
    if (n <= sigs.length) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, signatureToBlob(sigs[n - 1]), path.dirname(file));
    } else if (fs.existsSync(file)) {
      fs.rmSync(file);
    } else {
      return;
    }
  }
}

async function readBlob(client: RegistryClient, repo: string, d: Descriptor, limit: number): Promise<Buffer> {
  if (d.size > limit) throw new SignatureError('invalid', `${repo}: attachment blob ${d.digest} is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  for await (const c of await client.blob(repo, d.digest, d.size)) chunks.push(c as Buffer);
  const bytes = Buffer.concat(chunks);
  const got = sha256(bytes);
  if (got !== d.digest) throw new DigestMismatchError(`${repo}: attachment blob`, d.digest, got);
  return bytes;
}

async function attachmentManifest(client: RegistryClient, repo: string, manifestDigest: string): Promise<Manifest | undefined> {
  try {
    const m = await client.getManifest(repo, attachmentTag(manifestDigest));
    return JSON.parse(m.bytes.toString('utf8')) as Manifest;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}

async function readAttachments(client: RegistryClient, repo: string, manifestDigest: string): Promise<SigstoreSignature[]> {
  const m = await attachmentManifest(client, repo, manifestDigest);
  const out: SigstoreSignature[] = [];
  for (const l of m?.layers ?? []) {
    if (l.mediaType !== SIGSTORE_MIME_TYPE) continue; // other attachments (SBOMs...) share the tag in cosign
    out.push({ format: 'sigstore-json', mimeType: l.mediaType, payload: await readBlob(client, repo, l, MAX_SIGNATURE_BYTES), annotations: l.annotations ?? {} });
  }
  return out;
}

function sameAttachment(l: Descriptor, s: SigstoreSignature): boolean {
  const a = l.annotations ?? {};
  const b = s.annotations;
  return l.mediaType === s.mimeType && l.digest === sha256(s.payload) && Object.keys(a).length === Object.keys(b).length && Object.keys(a).every((k) => a[k] === b[k]);
}

async function putBytes(client: RegistryClient, repo: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
  if (!(await client.hasBlob(repo, desc.digest, true))) await client.uploadBlob(repo, desc, Readable.from([bytes]));
  return desc;
}

/** Add sigstore signatures to the attachment of a manifest, keeping those already there. */
async function writeAttachments(client: RegistryClient, repo: string, manifestDigest: string, sigs: SigstoreSignature[]): Promise<void> {
  const m = await attachmentManifest(client, repo, manifestDigest);
  const layers = [...(m?.layers ?? [])];
  const fresh = sigs.filter((s) => !layers.some((l) => sameAttachment(l, s)));
  if (!fresh.length) return;
  for (const s of fresh) layers.push({ ...(await putBytes(client, repo, s.payload, s.mimeType)), annotations: s.annotations });
  const config = { architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } };
  const configDesc = await putBytes(client, repo, Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  await client.putManifest(repo, attachmentTag(manifestDigest), Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
}

/** Both stores of one registry repository's signatures. */
export class DockerSignatures {
  constructor(private readonly ref: Reference, private readonly opts: DockerSignatureOptions) {}

  private useAttachments(): boolean | undefined {
    return sigstoreAttachments(this.opts.registriesD, this.opts.scopes);
  }

  async read(client: RegistryClient, manifestDigest: string): Promise<Signature[]> {
    const sigs = await readLookaside(lookasideBase(this.opts.registriesD, this.opts.scopes, this.ref.path, false), manifestDigest);
    if (this.useAttachments() === true || (this.opts.readAttachments && this.useAttachments() !== false)) {
      sigs.push(...(await readAttachments(client, this.ref.path, manifestDigest)));
    }
    return sigs;
  }

  /**
   * Add signatures to those the registry keeps for the manifest. Sigstore ones go to attachments unless
   * registries.d turns them off for this scope (skopeo and podman read them only where it turns them on).
   */
  async write(client: RegistryClient, manifestDigest: string, sigs: Signature[]): Promise<void> {
    const sigstore = sigs.filter((s): s is SigstoreSignature => s.format === 'sigstore-json');
    const simple = sigs.filter((s) => s.format === 'simple-signing');
    if (sigstore.length) {
      if (this.useAttachments() === false) throw new SignatureError('sign', `${this.ref.domain}/${this.ref.path}: sigstore signatures are kept as registry attachments, which registries.d (${this.opts.registriesD.dir}) turns off for it (use-sigstore-attachments: false)`);
      await writeAttachments(client, this.ref.path, manifestDigest, sigstore);
    }
    if (simple.length) {
      const base = lookasideBase(this.opts.registriesD, this.opts.scopes, this.ref.path, true);
      const have = base.protocol === 'file:' ? await readLookaside(base, manifestDigest) : [];
      const all = [...have];
      for (const s of simple) if (!all.some((h) => signatureToBlob(h).equals(signatureToBlob(s)))) all.push(s);
      writeLookaside(base, manifestDigest, all);
    }
  }
}
