/**
 * `hod push IMAGE [DESTINATION]`: a stored image to a registry or a file transport. The local image is
 * only read, so a failed push leaves it as it was and a second push completes what the first began.
 */
import fs from 'node:fs';
import type { ClientOptions } from '../registry/client.js';
import type { Store } from '../store/store.js';
import { copyImage, type ProgressEvent } from '../pull/copy-image.js';
import { openDestination } from '../pull/open.js';
import { parseTransportName } from '../pull/transport-name.js';
import { parseReference } from '../image/reference.js';
import { parseDockerName } from '../registry/docker-transport.js';
import { UsageError } from '../errors.js';
import type { Manifest } from '../image/types.js';
import { recompressLayers, type LayerCompression } from './recompress.js';
import { StoreSource } from './store-source.js';
import { makeSigner, type SignOptions } from '../signature/sign.js';

export interface PushOptions extends ClientOptions {
  format?: 'oci' | 'docker';
  /** Recompress layers stored otherwise (kept in the store for the next push). */
  compression?: LayerCompression;
  jobs?: number;
  digestfile?: string;
  progress?: (e: ProgressEvent) => void;
  /** Sign the pushed manifest (`--sign-by`, `--sign-by-sigstore-private-key`). */
  sign?: SignOptions;
  /** Who signs, for the payload's `optional.creator` ("hod 0.1.0"). */
  creator?: string;
  /** Copy none of the stored image's signatures. */
  removeSignatures?: boolean;
  /** A line for the user (signatures a destination cannot keep). */
  warn?: (line: string) => void;
}

export async function push(store: Store, image: string, destination: string | undefined, opts: PushOptions = {}): Promise<{ digest: string }> {
  const src = new StoreSource(store, image);
  const target = destination ?? src.image.names[0] ?? image;
  const t = parseTransportName(target) ?? { transport: 'docker' as const, rest: target };
  // a blob the registry has in another repository of this image's names is mounted, not uploaded again
  const dest = t.transport === 'docker' ? parseDockerName(t.rest) : undefined;
  const mountFrom = src.image.names.map((n) => parseReference(n)).filter((r) => dest && r.domain === dest.domain && r.path !== dest.path).map((r) => r.path);
  // a signature names the registry reference it is pushed as; elsewhere, the image's own name
  const signer = opts.sign && makeSigner(opts.sign, dest ? `${dest.domain}/${dest.path}:${dest.tag ?? 'latest'}` : src.image.names[0], opts.creator ?? 'hod');
  let unpin = () => {};
  if (opts.compression) {
    if (opts.compression === 'zstd' && opts.format === 'docker') throw new UsageError('--compression-format zstd: Docker images cannot carry zstd layers (use --format oci)');
    const stored = await src.manifest();
    const raw = await recompressLayers(store, stored, opts.compression);
    if (raw !== stored) {
      src.replacement = raw;
      // blobs no image names yet: keep a concurrent rmi's garbage collection off them until the push is done
      unpin = store.blobs.pin((JSON.parse(raw.bytes.toString()) as Manifest).layers.map((l) => l.digest));
    }
  }
  try {
    const res = await copyImage(src, openDestination(t, { ...opts, mountFrom }), {
      format: opts.format,
      jobs: opts.jobs,
      progress: opts.progress,
      sign: signer,
      removeSignatures: opts.removeSignatures,
      warn: opts.warn,
    });
    if (opts.digestfile) fs.writeFileSync(opts.digestfile, res.manifestDigest);
    return { digest: res.manifestDigest };
  } finally {
    unpin();
  }
}
