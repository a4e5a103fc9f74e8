/** `docker://host[:port]/repo[:tag|@digest]` as an ImageSource and an ImageDestination. */
import type { Readable } from 'node:stream';
import { HodError } from '../errors.js';
import { normalizeDocker, formatReference, type Reference } from '../image/reference.js';
import type { ImageDestination, ImageSource, RawManifest } from '../image/transport.js';
import type { Descriptor } from '../image/types.js';
import { digestOf } from '../pull/copy-image.js';
import { getCredentials } from './auth-file.js';
import { RegistryClient, type ClientOptions } from './client.js';

/** Credentials from auth.json for this reference unless the caller brings its own lookup. */
function withCredentials(ref: Reference, opts: ClientOptions): ClientOptions {
  return { ...opts, getCredentials: opts.getCredentials ?? (() => getCredentials(ref.domain, { authfile: opts.authfile, repository: ref.path })) };
}

/** Docker Hub's API lives on another host than its name. */
export function apiHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

export function parseDockerName(rest: string): Reference {
  return normalizeDocker(rest.replace(/^\/\//, ''));
}

export class DockerSource implements ImageSource {
  readonly description: string;
  private readonly client: RegistryClient;

  constructor(readonly ref: Reference, opts: ClientOptions = {}) {
    this.description = `docker://${formatReference(ref)}`;
    this.client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, opts));
  }

  async manifest(digest?: string): Promise<RawManifest> {
    const m = await this.client.getManifest(this.ref.path, digest ?? this.ref.digest ?? this.ref.tag ?? 'latest');
    return { bytes: m.bytes, mediaType: m.mediaType };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    return this.client.blob(this.ref.path, desc.digest);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

export class DockerDestination implements ImageDestination {
  readonly description: string;
  private readonly client: RegistryClient;
  private readonly mountFrom: string[];
  /** The manifest digest once written, for --digestfile. */
  digest: string | undefined;

  constructor(readonly ref: Reference, opts: ClientOptions & { mountFrom?: string[] } = {}) {
    if (ref.digest && ref.tag === undefined) throw new HodError('EUSAGE', `cannot push to a digest reference (${formatReference(ref)}): give a tag`);
    this.description = `docker://${formatReference(ref)}`;
    this.client = new RegistryClient(apiHost(ref.domain), withCredentials(ref, opts));
    this.mountFrom = opts.mountFrom ?? [];
  }

  async hasManifest(digest: string): Promise<boolean> {
    const present = await this.client.manifestDigest(this.ref.path, this.ref.tag ?? 'latest');
    if (present === digest) this.digest = digest;
    return present === digest;
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    return this.client.hasBlob(this.ref.path, desc.digest, true);
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    await this.client.uploadBlob(this.ref.path, desc, data, this.mountFrom.filter((r) => r !== this.ref.path));
  }

  async putManifest(raw: RawManifest, opts: { child?: boolean } = {}): Promise<void> {
    const digest = digestOf(raw.bytes);
    await this.client.putManifest(this.ref.path, opts.child ? digest : this.ref.tag ?? 'latest', raw.bytes, raw.mediaType);
    if (!opts.child) this.digest = digest;
  }

  async commit(): Promise<void> {}

  async close(): Promise<void> {
    await this.client.close();
  }
}
