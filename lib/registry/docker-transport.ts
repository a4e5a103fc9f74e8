/**
 * `docker://host[:port]/repo[:tag|@digest]` as an ImageSource and an ImageDestination. Neither hashes
 * bytes itself: what a source streams is checked by its destination (the store and the file transports as
 * they write), and the registry checks every digest pushed to it on the closing PUT.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { HodError, UsageError } from '../errors.js';
import { DEFAULT_TAG, formatReference, normalizeDocker, type Reference } from '../image/reference.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import { getCredentials } from './auth-file.js';
import { RegistryClient, type ClientOptions } from './client.js';
import type { RegistriesD } from '../signature/registries-d.js';
import type { Signature } from '../signature/types.js';
import { assertNotBlocked, findRegistry, loadRegistriesConf, type PullSource, type RegistriesConf } from './registries-conf.js';

export interface DockerDestinationOptions extends DockerOptions {
  /** Repositories on the same registry to try cross-repository mounts from, in order. */
  mountFrom?: string[];
}

/** Credentials from auth.json for this reference unless the caller brings its own lookup. */
function withCredentials(ref: Reference, opts: ClientOptions): ClientOptions {
  return { ...opts, getCredentials: opts.getCredentials ?? (() => getCredentials(ref.domain, { authfile: opts.authfile, repository: ref.path })) };
}

/** Docker Hub's API lives on another host than its name. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** The part after `docker:` (with or without its `//`) as a normalised reference: docker.io, library/, :latest. */
export function parseDockerName(rest: string): Reference {
  return normalizeDocker(rest.replace(/^\/\//, ''));
}

export interface DockerOptions extends ClientOptions {
  /** registries.conf as read; default: loaded from the usual files when first needed. */
  registriesConf?: RegistriesConf;
  /** registries.d (where signatures live) as read; default: loaded when signatures are first needed. */
  registriesD?: RegistriesD;
  /** Read sigstore attachments even where registries.d does not say to (a sigstoreSigned policy needs them). */
  readAttachments?: boolean;
}

/** Loaded when signatures are first asked for: registries.d's YAML parser costs every pull and push otherwise. */
async function signaturesOf(ref: Reference, opts: DockerOptions) {
  const [{ DockerSignatures }, { loadRegistriesD }, { dockerScopes }] = await Promise.all([import('../signature/docker-signatures.js'), import('../signature/registries-d.js'), import('../signature/policy.js')]);
  return new DockerSignatures(ref, { registriesD: opts.registriesD ?? (await loadRegistriesD()), scopes: dockerScopes(ref), readAttachments: opts.readAttachments });
}

/** One place to read an image from: a mirror, or the registry itself at its configured location. */
interface OpenedSource {
  client: RegistryClient;
  ref: Reference;
  top: RawManifest;
}

/**
 * registries.conf's say on a registry host: blocked refuses it; insecure allows plain HTTP and any
 * certificate unless `--tls-verify` was given, as containers/image lets the flag win.
 */
function tlsVerifyFor(insecure: boolean, opts: ClientOptions): boolean | undefined {
  return opts.tlsVerify ?? (insecure ? false : undefined);
}

/**
 * An image in a registry, read from the first of its pull sources that has it: the mirrors registries.conf
 * gives for the reference, then the registry's own location. The first manifest request picks the source.
 */
export class DockerSource implements ImageSource {
  readonly description: string;
  private readonly sources: PullSource[];
  private opened: Promise<OpenedSource> | undefined;

  constructor(readonly ref: Reference, private readonly opts: DockerOptions = {}) {
    this.description = `docker://${formatReference(ref)}`;
    const match = findRegistry(opts.registriesConf ?? loadRegistriesConf(), ref);
    assertNotBlocked(match, ref);
    this.sources = [...match.mirrors, { reference: match.reference, insecure: match.insecure }];
  }

  private open(): Promise<OpenedSource> {
    this.opened ??= this.tryEach();
    return this.opened;
  }

  private async tryEach(): Promise<OpenedSource> {
    const failures: string[] = [];
    for (const [i, s] of this.sources.entries()) {
      const ref = s.reference;
      const client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, { ...this.opts, tlsVerify: tlsVerifyFor(s.insecure, this.opts) }));
      try {
        const m = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? DEFAULT_TAG);
        return { client, ref, top: { bytes: m.bytes, mediaType: m.mediaType } };
      } catch (err) {
        await client.close();
        if (i === this.sources.length - 1) {
          if (failures.length && err instanceof Error) err.message += ` (mirrors also failed: ${failures.join('; ')})`;
          throw err;
        }
        failures.push(`${formatReference(ref)}: ${(err as Error).message}`);
      }
    }
    throw new Error('unreachable: a reference always has its own registry as a source');
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const o = await this.open();
    if (digest === undefined) return o.top;
    const m = await o.client.getManifest(o.ref.path, digest);
    return { bytes: m.bytes, mediaType: m.mediaType };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const o = await this.open();
    return o.client.blob(o.ref.path, desc.digest, desc.size);
  }

  /** Look-aside storage is keyed by the name as given; attachments are read where the manifest was. */
  async signatures(manifestDigest: string): Promise<Signature[]> {
    const o = await this.open();
    return (await signaturesOf(this.ref, this.opts)).read(o.client, manifestDigest);
  }

  async close(): Promise<void> {
    const o = await this.opened?.catch(() => undefined);
    await o?.client.close();
  }
}

export class DockerDestination implements ImageDestination {
  readonly description: string;
  readonly checksDigests = true;
  readonly client: RegistryClient;
  private readonly mountFrom: string[];
  private readonly opts: DockerDestinationOptions;
  /** The top-level manifest's digest once written (or found already there), for --digestfile. */
  digest: string | undefined;

  constructor(readonly ref: Reference, opts: DockerDestinationOptions = {}) {
    if (ref.digest && ref.tag === undefined) throw new UsageError(`cannot push to a digest reference (${formatReference(ref)}): give a tag`);
    this.description = `docker://${formatReference(ref)}`;
    // pushes go to the name as given (no location rewriting, no mirrors), but a blocked registry stays blocked
    const match = findRegistry(opts.registriesConf ?? loadRegistriesConf(), ref);
    if (match.blocked) throw new HodError('EBLOCKED', `registry ${match.entry!.prefix} is blocked in ${match.entry!.origin}: cannot push to ${formatReference(ref)}`);
    this.client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, { ...opts, tlsVerify: tlsVerifyFor(match.insecure, opts) }));
    this.mountFrom = (opts.mountFrom ?? []).filter((r) => r !== ref.path);
    this.opts = opts;
  }

  private get tag(): string {
    return this.ref.tag ?? DEFAULT_TAG;
  }

  async hasManifest(digest: string): Promise<boolean> {
    const present = await this.client.manifestDigest(this.ref.path, this.tag, true);
    if (present === digest) this.digest = digest;
    return present === digest;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.client.hasBlob(this.ref.path, desc.digest, true);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    await this.client.uploadBlob(this.ref.path, desc, data, this.mountFrom);
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const digest = `sha256:${crypto.createHash('sha256').update(raw.bytes).digest('hex')}`;
    await this.client.putManifest(this.ref.path, opts.child ? digest : this.tag, raw.bytes, raw.mediaType);
    if (!opts.child) this.digest = digest;
  }

  async putSignatures(manifestDigest: string, sigs: Signature[]): Promise<void> {
    await (await signaturesOf(this.ref, this.opts)).write(this.client, manifestDigest, sigs);
  }

  /** Nothing to do: a registry shows the tag as soon as its manifest is written, which comes last. */
  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await this.client.close();
  }
}
