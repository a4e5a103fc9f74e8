/** hod's store as an ImageSource: a stored image by name or id, for push and copies between stores. */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { NotFoundError } from '../errors.js';
import type { ImageSource, RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor } from '../image/types.js';
import type { StoredImage } from '../store/images.js';
import type { Store } from '../store/store.js';
import { readStoredSignatures } from '../store/signatures.js';
import { SignatureError, type Signature } from '../signature/types.js';

export class StoreSource implements ImageSource {
  readonly description: string;
  readonly image: StoredImage;
  /** The top-level manifest to offer instead of the stored one (recompressed layers). */
  replacement: RawManifest | undefined;

  constructor(private readonly store: Store, nameOrId: string) {
    this.image = store.images.get(nameOrId);
    this.description = this.image.names[0] ?? this.image.id.slice(0, 12);
  }

  async manifest(digest?: string): Promise<RawManifest> {
    if (digest === undefined && this.replacement) return this.replacement;
    const d = digest ?? this.image.manifestDigest;
    const bytes = this.store.blobs.read(d);
    const mediaType = digest ? (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ?? MediaType.ociManifest : this.image.manifestDescriptor.mediaType;
    return { bytes, mediaType };
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const file = this.store.blobs.path(desc.digest);
    if (!fs.existsSync(file)) throw new NotFoundError('blob', `${desc.digest} of image ${this.description}`);
    return fs.createReadStream(file, { highWaterMark: 1 << 20 });
  }

  async signatures(manifestDigest: string): Promise<Signature[]> {
    const stored = readStoredSignatures(this.store.paths, this.image.manifestDigest);
    if (manifestDigest === this.image.manifestDigest) return stored;
    if (this.replacement && stored.length) {
      throw new SignatureError('digest', `${this.description}: recompressing its layers changes the manifest's digest, which would invalidate its ${stored.length} signature(s): push with --remove-signatures`);
    }
    return readStoredSignatures(this.store.paths, manifestDigest);
  }

  async close(): Promise<void> {}
}
