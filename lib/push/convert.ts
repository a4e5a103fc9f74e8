/**
 * Manifest conversion between OCI and Docker schema 2 (`--format`): the same config and layer bytes under
 * the other format's media types. The raw bytes are kept as they are when no conversion is asked for, so
 * the manifest digest survives a copy.
 */
import { HodError } from '../errors.js';
import type { RawManifest } from '../image/transport.js';
import { MediaType, type Descriptor, type Manifest } from '../image/types.js';

const TO_DOCKER: Record<string, string> = {
  [MediaType.ociConfig]: MediaType.dockerConfig,
  [MediaType.ociLayer]: MediaType.dockerLayer,
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
};
const TO_OCI: Record<string, string> = Object.fromEntries(Object.entries(TO_DOCKER).map(([k, v]) => [v, k]));

export function formatOf(mediaType: string): 'oci' | 'docker' {
  return mediaType === MediaType.dockerManifest ? 'docker' : 'oci';
}

function convertDesc(d: Descriptor, table: Record<string, string>, format: string): Descriptor {
  if (Object.values(table).includes(d.mediaType)) return d;
  const mt = table[d.mediaType];
  if (!mt) throw new HodError('EFORMAT', `a ${d.mediaType} blob (${d.digest}) cannot be stored in a ${format} image`);
  return { ...d, mediaType: mt };
}

export function convertManifest(raw: RawManifest, m: Manifest, format: 'oci' | 'docker' | undefined): { raw: RawManifest; manifest: Manifest } {
  const mediaType = raw.mediaType || m.mediaType || MediaType.ociManifest;
  if (!format || formatOf(mediaType) === format) return { raw: { bytes: raw.bytes, mediaType }, manifest: m };
  const table = format === 'docker' ? TO_DOCKER : TO_OCI;
  const out: Manifest = {
    schemaVersion: 2,
    mediaType: format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest,
    config: convertDesc(m.config, table, format),
    layers: m.layers.map((l) => convertDesc(l, table, format)),
  };
  if (format === 'oci' && m.annotations) out.annotations = m.annotations;
  return { raw: { bytes: Buffer.from(JSON.stringify(out)), mediaType: out.mediaType! }, manifest: out };
}
