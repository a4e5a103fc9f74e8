/**
 * What every image transport implements, in both directions: the registry (`docker://`), the file formats
 * (`oci:`, `oci-archive:`, `docker-archive:`, `dir:`) and hod's own store. The copy engine (lib/pull,
 * lib/push) moves an image from any ImageSource to any ImageDestination through these calls alone.
 */
import type { Readable } from 'node:stream';
import type { Signature } from '../signature/types.js';
import type { Descriptor } from './types.js';

/** A manifest or index exactly as stored: its bytes are what its digest is computed over. */
export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
}

export interface ImageSource {
  /** The image as the user named it, for messages ("docker://127.0.0.1:5000/a/b:1"). */
  readonly description: string;
  /**
   * The top-level manifest (an image manifest, or an index / manifest list) when `digest` is undefined;
   * otherwise the manifest with that digest (an index's child). Bytes are verified against `digest` by the caller.
   */
  manifest(digest?: string): Promise<RawManifest>;
  /**
   * A blob's bytes. Implementations may resume or retry internally; the caller verifies size and digest while
   * it streams and fails naming the digest on a mismatch.
   */
  blob(desc: Descriptor): Promise<Readable>;
  /**
   * The signatures kept for the manifest with this digest (none when the transport keeps none). Unverified:
   * the policy decides what they are worth.
   */
  signatures?(manifestDigest: string): Promise<Signature[]>;
  /** Release connections and temporary files. Always called, also after a failure. */
  close(): Promise<void>;
}

export interface ImageDestination {
  readonly description: string;
  /**
   * Whether the destination already holds this exact manifest under the name being written: then nothing
   * needs copying (a registry HEAD on the tag). Optional; without it every blob is checked.
   */
  hasManifest?(digest: string): Promise<boolean>;
  /**
   * The destination checks every blob against its digest itself (a registry on the closing PUT, a file
   * transport or the store as it writes), so the copy engine only counts bytes rather than hashing twice.
   */
  readonly checksDigests?: boolean;
  /** Whether the blob is already there, so it is not sent again (a registry HEAD, a file's existence). */
  hasBlob(desc: Descriptor): Promise<boolean>;
  /**
   * The blobs about to be copied, told before the first moves, so that the destination can get ready for
   * them (the store starts a file-writer thread for a large layer). Optional.
   */
  prepare?(blobs: Descriptor[]): void;
  /**
   * Store a blob. The destination verifies the bytes against `desc.digest` and `desc.size` and keeps nothing
   * of a blob that does not match. Several putBlob calls may run at once.
   */
  putBlob(desc: Descriptor, data: Readable): Promise<void>;
  /**
   * Store a manifest. `child` is true for an image manifest that an index (stored later) lists; the
   * top-level manifest or index comes last, after every blob and child it refers to.
   */
  putManifest(manifest: RawManifest, opts?: { child?: boolean }): Promise<void>;
  /**
   * Store signatures of a manifest written before (after putManifest, before commit). Absent where the
   * format has no place for them; `signatureFormats` says which of the two formats it can keep (default both).
   */
  putSignatures?(manifestDigest: string, sigs: Signature[]): Promise<void>;
  readonly signatureFormats?: readonly Signature['format'][];
  /** Make what was written visible (write index.json, close an archive). Nothing is visible before. */
  commit(): Promise<void>;
  /** Release resources; after a failure, remove what an uncommitted write left. Always called. */
  close(): Promise<void>;
}

/** A parsed `transport:rest` image name. */
export interface TransportName {
  transport: 'docker' | 'oci' | 'oci-archive' | 'docker-archive' | 'dir' | 'hod';
  /** Everything after `transport:` (for docker, after `docker://`). */
  rest: string;
}
