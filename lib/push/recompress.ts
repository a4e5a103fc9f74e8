/**
 * `--compression-format gzip|zstd`: layers stored with another compression (or none) are decompressed and
 * compressed again into the store, where they stay as blobs like any other, so the next push of the image
 * finds them there; the manifest pushed names the new blobs. The config is untouched: its diff ids are
 * those of the uncompressed tars, whatever carries them.
 */
import fs from 'node:fs';
import { HodError, SystemError } from '../errors.js';
import type { RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor, type Manifest } from '../image/types.js';
import { nodeCrypto, tmpName } from '../store/atomic.js';
import type { Store } from '../store/store.js';
import { runTool } from '../store/tool.js';

export type LayerCompression = 'gzip' | 'zstd';

const OCI_LAYER: Record<string, LayerCompression | 'none'> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
};

/** The commands that undo, and then apply, a compression. Level 1 gzip, as hod commits; zstd's default 3. */
const DECOMPRESS: Record<string, string> = { none: 'cat', gzip: 'gzip -dc', zstd: 'zstd -q -dc' };
const COMPRESS: Record<LayerCompression, string> = { gzip: 'gzip -n -1', zstd: 'zstd -q -3 -T0' };

function mediaTypeFor(manifestType: string, to: LayerCompression): string {
  const docker = manifestType === MediaType.dockerManifest;
  if (docker && to === 'zstd') throw new HodError('EFORMAT', 'zstd layers cannot be carried by a Docker image: push with --format oci');
  if (docker) return MediaType.dockerLayerGzip;
  return to === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayerGzip;
}

/** `from`'s bytes, recompressed into a staged file; returns its descriptor once adopted into the store. */
async function recompressBlob(store: Store, from: Descriptor, fromComp: string, to: LayerCompression, mediaType: string): Promise<Descriptor> {
  const staged = tmpName(store.paths.tmp, 'recompress');
  const script = `set -o pipefail; ${DECOMPRESS[fromComp]} < "$1" | ${COMPRESS[to]} > "$2"`;
  const res = await runTool('bash', ['-c', script, 'recompress', store.blobs.path(from.digest), staged]);
  if (res.exitCode !== 0) {
    fs.rmSync(staged, { force: true });
    const why = res.stderr.toString().trim() || res.shortMessage;
    if (/not found/.test(why)) throw new SystemError(`recompressing layer ${from.digest} to ${to}: ${why} (install ${to === 'zstd' || fromComp === 'zstd' ? 'zstd' : 'gzip'})`);
    throw new HodError('ECOMPRESS', `recompressing layer ${from.digest} to ${to}: ${why}`);
  }
  const hash = nodeCrypto().createHash('sha256');
  for await (const chunk of fs.createReadStream(staged, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  const digest = `sha256:${hash.digest('hex')}`;
  const size = fs.statSync(staged).size;
  store.blobs.adopt(staged, digest);
  return { mediaType, digest, size, ...(from.annotations ? { annotations: from.annotations } : {}) };
}

/**
 * The manifest to push with every layer in `to` compression, recompressing what must be; the stored one
 * unchanged when nothing must. Recompressed blobs are written into the store before this returns.
 */
export async function recompressLayers(store: Store, raw: RawManifest, to: LayerCompression): Promise<RawManifest> {
  const m = JSON.parse(raw.bytes.toString()) as Manifest;
  const manifestType = raw.mediaType || m.mediaType || MediaType.ociManifest;
  let changed = false;
  const layers: Descriptor[] = [];
  for (const l of m.layers) {
    const comp = OCI_LAYER[l.mediaType];
    if (comp === undefined) throw new HodError('EFORMAT', `layer ${l.digest} is a ${l.mediaType}, which hod cannot recompress`);
    if (comp === to) {
      layers.push(l);
      continue;
    }
    layers.push(await recompressBlob(store, l, comp, to, mediaTypeFor(manifestType, to)));
    changed = true;
  }
  if (!changed) return raw;
  const out: Manifest = { ...m, layers };
  return { bytes: Buffer.from(JSON.stringify(out)), mediaType: manifestType };
}
