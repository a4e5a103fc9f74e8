/**
 * `hod manifest push [--all] LIST DESTINATION`: a manifest list from the store to any transport. With
 * `--all` every image it names goes first, each manifest stored by its digest, then the list under the
 * destination's name; without, only the list, whose images the destination must have already. A format
 * conversion changes the images' digests, so the list sent names the converted manifests.
 */
import fs from 'node:fs';
import { HodError, NotFoundError } from '../errors.js';
import type { RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor, type Index } from '../image/types.js';
import { copyManifest, digestOf, type ProgressEvent } from '../pull/copy-image.js';
import { openDestination } from '../pull/open.js';
import { parseTransportName } from '../pull/transport-name.js';
import type { ClientOptions } from '../registry/client.js';
import { getList } from '../store/lists.js';
import type { Store } from '../store/store.js';
import { StoreSource } from './store-source.js';

export interface PushListOptions extends ClientOptions {
  all?: boolean;
  format?: 'oci' | 'docker';
  jobs?: number;
  digestfile?: string;
  progress?: (e: ProgressEvent) => void;
}

export async function pushList(store: Store, name: string, destination: string, opts: PushListOptions = {}): Promise<{ digest: string }> {
  const list = getList(store, name);
  const t = parseTransportName(destination) ?? { transport: 'docker' as const, rest: destination };
  const format = opts.format ?? (list.index.mediaType === MediaType.dockerManifestList ? 'docker' : 'oci');
  // a file transport holds only what is written to it: a list there without its images names nothing
  if (!opts.all && t.transport !== 'docker') {
    throw new HodError('EUSAGE', `${t.transport}: holds only what hod writes to it, so a list without its images would name manifests it does not have: push with --all`);
  }
  const dst = openDestination(t, opts);
  try {
    const manifests: Descriptor[] = [];
    for (const d of list.index.manifests) {
      if (!opts.all) {
        if (opts.format && opts.format !== formatOfManifest(d.mediaType)) {
          throw new HodError('EUSAGE', `--format ${opts.format} changes the images' digests: it needs --all, to push the converted images too`);
        }
        manifests.push(d);
        continue;
      }
      let src: StoreSource;
      try {
        src = new StoreSource(store, d.digest);
      } catch (err) {
        if (err instanceof NotFoundError) throw new HodError('ENOTFOUND', `image ${d.digest} of manifest list "${list.name}" is not in the store (removed?): add it again, or remove it from the list`);
        throw err;
      }
      const r = await copyManifest(src, dst, { format: opts.format, jobs: opts.jobs, progress: opts.progress }, true);
      manifests.push({ ...d, mediaType: r.mediaType, digest: r.manifestDigest, size: r.size });
    }
    const out: Index = { ...list.index, mediaType: format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex, manifests };
    if (format === 'docker') delete out.annotations; // a Docker list has no annotations
    const raw: RawManifest = { bytes: Buffer.from(JSON.stringify(out)), mediaType: out.mediaType! };
    try {
      await dst.putManifest(raw);
    } catch (err) {
      // a registry refuses a list whose images it lacks (MANIFEST_BLOB_UNKNOWN, MANIFEST_UNKNOWN...)
      if (!opts.all && err instanceof Error && /MANIFEST|BLOB_UNKNOWN|not found/i.test(err.message)) err.message += ': the registry may lack the list\'s images; push with --all to send them too';
      throw err;
    }
    await dst.commit();
    const digest = digestOf(raw.bytes);
    if (opts.digestfile) fs.writeFileSync(opts.digestfile, digest);
    return { digest };
  } finally {
    await dst.close();
  }
}

function formatOfManifest(mediaType: string): 'oci' | 'docker' {
  return mediaType === MediaType.dockerManifest ? 'docker' : 'oci';
}
