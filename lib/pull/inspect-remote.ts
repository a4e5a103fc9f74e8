/**
 * `hod inspect docker://...` (or any transport): an image read where it is, without pulling it, shown as
 * `skopeo inspect` shows it; `raw` gives the top-level manifest or index as stored.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, ImageConfig, Manifest, Platform } from '../image/types.js';
import type { ClientOptions } from '../registry/client.js';
import { digestOf, imageManifest } from './copy-image.js';
import { openSource } from './open.js';
import { requireTransportName } from './transport-name.js';

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function inspectRemote(name: string, opts: ClientOptions & { platform?: Partial<Platform>; raw?: boolean }): Promise<unknown> {
  const src = openSource(requireTransportName(name), opts);
  try {
    const top = await src.manifest();
    if (opts.raw) return JSON.parse(top.bytes.toString());
    const m = JSON.parse((await imageManifest(src, { platform: opts.platform })).bytes.toString()) as Manifest;
    const configDesc: Descriptor = m.config;
    const config = JSON.parse((await readAll(await src.blob(configDesc))).toString()) as ImageConfig;
    return {
      Name: src.description,
      Digest: digestOf(top.bytes),
      Created: config.created,
      Labels: config.config?.Labels ?? null,
      Architecture: config.architecture,
      Variant: config.variant ?? '',
      Os: config.os,
      Layers: m.layers.map((l) => l.digest),
      LayersData: m.layers.map((l) => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ?? null })),
      Env: config.config?.Env ?? null,
    };
  } finally {
    await src.close();
  }
}
