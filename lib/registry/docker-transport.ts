/**
 * `docker://host[:port]/repo[:tag|@digest]` as an ImageSource and an ImageDestination. Neither verifies
 * bytes itself: the copy engine hashes what the source streams, and the registry checks every digest on PUT.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { DEFAULT_TAG, formatReference, normalizeDocker, type Reference } from '../image/reference.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import { getCredentials } from './auth-file.js';
import { RegistryClient, type ClientOptions } from './client.js';

export interface DockerDestinationOptions extends ClientOptions {
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

export class DockerSource implements ImageSource {
  readonly description: string;
  readonly client: RegistryClient;

  constructor(readonly ref: Reference, opts: ClientOptions = {}) {
    this.description = `docker://${formatReference(ref)}`;
    this.client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, opts));
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const m = await this.client.getManifest(this.ref.path, digest ?? this.ref.digest ?? this.ref.tag ?? DEFAULT_TAG);
    return { bytes: m.bytes, mediaType: m.mediaType };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    return this.client.blob(this.ref.path, desc.digest, desc.size);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export class DockerDestination implements ImageDestination {
  readonly description: string;
  readonly client: RegistryClient;
  private readonly mountFrom: string[];
  /** The top-level manifest's digest once written (or found already there), for --digestfile. */
  digest: string | undefined;

  constructor(readonly ref: Reference, opts: DockerDestinationOptions = {}) {
    if (ref.digest && ref.tag === undefined) throw new UsageError(`cannot push to a digest reference (${formatReference(ref)}): give a tag`);
    this.description = `docker://${formatReference(ref)}`;
    this.client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, opts));
    this.mountFrom = (opts.mountFrom ?? []).filter((r) => r !== ref.path);
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

  /** Nothing to do: a registry shows the tag as soon as its manifest is written, which comes last. */
  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await this.client.close();
  }
}
