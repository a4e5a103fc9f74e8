/** Blobs, images and credential lookups for the registry client tests, made in code. */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import type { CredentialsLookup } from '../../lib/registry/client.js';
import type { RawManifest } from '../../lib/image/transport.js';
import { MediaType, type Descriptor } from '../../lib/image/types.js';

export interface Blob {
  desc: Descriptor;
  bytes: Buffer;
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob of `size` pseudo-random bytes (seeded, so a failure can be reproduced). */
export function randomBlob(size: number, seed = 'hod', mediaType: string = MediaType.ociLayerGzip): Blob {
  const parts: Buffer[] = [];
  let have = 0;
  for (let i = 0; have < size; i++) {
    const b = crypto.createHash('sha512').update(`${seed}:${i}`).digest();
    parts.push(b);
    have += b.length;
  }
  const bytes = Buffer.concat(parts).subarray(0, size);
  return { desc: { mediaType, digest: digestOf(bytes), size }, bytes };
}

export interface TestImage {
  config: Blob;
  layers: Blob[];
  manifest: RawManifest;
  digest: string;
}

/** An OCI image whose layers are `layerSizes` random bytes each (a registry checks digests, not tar). */
export function makeImage(seed: string, layerSizes: number[] = [3000]): TestImage {
  const layers = layerSizes.map((n, i) => randomBlob(n, `${seed}/${i}`));
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.desc.digest) }, config: { Labels: { seed } } }));
  const config = { desc: { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length }, bytes: configBytes };
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.desc, layers: layers.map((l) => l.desc) }));
  return { config, layers, manifest: { bytes, mediaType: MediaType.ociManifest }, digest: digestOf(bytes) };
}

/** An OCI index listing `images` (as linux/amd64, linux/arm64...). */
export function makeIndex(images: TestImage[]): { manifest: RawManifest; digest: string } {
  const arches = ['amd64', 'arm64', 's390x', 'ppc64le'];
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((m, i) => ({ mediaType: m.manifest.mediaType, digest: m.digest, size: m.manifest.bytes.length, platform: { os: 'linux', architecture: arches[i] } })),
  }));
  return { manifest: { bytes, mediaType: MediaType.ociIndex }, digest: digestOf(bytes) };
}

export function streamOf(bytes: Buffer, chunk = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
  return Readable.from(parts);
}

export async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of s) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

export function login(username: string, password: string): CredentialsLookup {
  return async () => ({ username, password });
}

/** Run `fn` and return what it threw; fails the test if it did not throw. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & { code?: string; status?: number; retryable?: boolean; codes?: string[] }> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, got none');
}
