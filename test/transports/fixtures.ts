/**
 * Fixtures for the transport tests, made by code: an OCI layout written by umoci (gzip layers, a whiteout,
 * a config whose Cmd needs Go's HTML escaping, an index of two images), docker save archives of both
 * layouts built with the project's tar writer, and helpers to read an image back and check every digest.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarBuffer, type TarEntry } from '../../lib/commit/tar-writer.js';
import type { ImageSource } from '../../lib/image/transport.js';
import type { Descriptor, Index, Manifest } from '../../lib/image/types.js';
import { verifier } from '../../lib/pull/copy-image.js';
import { describeTree, sh } from '../helpers.js';

const ROOTLESS = process.getuid?.() === 0 ? '' : '--rootless';

export function sha256(b: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
}

/**
 * `<work>/img`, an OCI layout with refs "base" (one layer), "t" (two layers, the second deletes a file) and
 * "multi" (an index of both, as two platforms), and "js" ("t" with a config written by JSON.stringify).
 */
export function umociLayout(work: string): string {
  const img = path.join(work, 'img');
  sh(`set -e; cd '${work}'
    umoci init --layout img; umoci new --image img:t
    umoci unpack ${ROOTLESS} --image img:t b >/dev/null
    mkdir -p b/rootfs/etc b/rootfs/srv; echo hello > b/rootfs/etc/hello; ln -s hello b/rootfs/etc/link
    head -c 150000 /dev/urandom > b/rootfs/srv/r; chmod 4755 b/rootfs/srv/r
    umoci repack --image img:t b; rm -rf b
    umoci config --image img:t --config.cmd sh --config.cmd -c --config.cmd 'true && echo "<ok>"' --author 'a&b'
    umoci tag --image img:t base
    umoci unpack ${ROOTLESS} --image img:t b >/dev/null
    rm b/rootfs/etc/hello; echo two > b/rootfs/srv/two
    umoci repack --image img:t b; rm -rf b`);
  const index = JSON.parse(fs.readFileSync(path.join(img, 'index.json'), 'utf8')) as Index;
  const byRef = (r: string) => index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === r)!;
  const strip = (d: Descriptor) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size });
  const multi = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...strip(byRef('t')), platform: { architecture: 'amd64', os: 'linux' } },
      { ...strip(byRef('base')), platform: { architecture: 'arm64', os: 'linux' } },
    ],
  }));
  const put = (b: Buffer) => fs.writeFileSync(path.join(img, 'blobs', 'sha256', sha256(b).slice(7)), b);
  put(multi);
  index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(multi), size: multi.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  // "js": "t" with a config as JSON.stringify writes it (indented; "&", "<" and U+2028 not escaped), as hod's are
  const blob = (d: Descriptor) => fs.readFileSync(path.join(img, 'blobs', 'sha256', d.digest.slice(7)));
  const m = JSON.parse(blob(byRef('t')).toString()) as Manifest;
  const config = JSON.parse(blob(m.config).toString()) as { config: { Cmd: string[] } };
  config.config.Cmd = ['sh', '-c', 'true && echo "<ok>" \u2028'];
  const configBytes = Buffer.from(JSON.stringify(config, null, 2));
  const js = Buffer.from(JSON.stringify({ ...m, config: { ...m.config, digest: sha256(configBytes), size: configBytes.length } }));
  put(configBytes);
  put(js);
  index.manifests.push({ mediaType: byRef('t').mediaType, digest: sha256(js), size: js.length, annotations: { 'org.opencontainers.image.ref.name': 'js' } });
  fs.writeFileSync(path.join(img, 'index.json'), JSON.stringify(index));
  return img;
}

/** umoci's view of an image in a layout: the unpacked root filesystem, described entry by entry. */
export function unpackedTree(layout: string, ref: string, work: string): Map<string, string> {
  const bundle = fs.mkdtempSync(path.join(work, 'bundle-'));
  fs.rmdirSync(bundle);
  sh(`umoci unpack ${ROOTLESS} --image '${layout}:${ref}' '${bundle}' >/dev/null`);
  const tree = describeTree(path.join(bundle, 'rootfs'));
  fs.rmSync(bundle, { recursive: true, force: true });
  return tree;
}

export interface ReadBack {
  digest: string;
  mediaType: string;
  manifest: Manifest;
  blobs: Descriptor[];
}

/** Read every manifest (an index's children too) and blob of `src`, verifying each digest and size. */
export async function readBack(src: ImageSource): Promise<ReadBack> {
  try {
    const raw = await src.manifest();
    const top = JSON.parse(raw.bytes.toString()) as Manifest & Index;
    const manifests: Manifest[] = [];
    if (Array.isArray(top.manifests)) {
      for (const child of top.manifests) {
        const c = await src.manifest(child.digest);
        if (sha256(c.bytes) !== child.digest) throw new Error(`child ${child.digest} has digest ${sha256(c.bytes)}`);
        manifests.push(JSON.parse(c.bytes.toString()) as Manifest);
      }
    } else manifests.push(top);
    const blobs = manifests.flatMap((m) => [m.config, ...m.layers]);
    for (const d of blobs) await pipeline(await src.blob(d), verifier(d, 'read back'), new Writable({ write: (_c, _e, cb) => cb() }));
    return { digest: sha256(raw.bytes), mediaType: raw.mediaType, manifest: manifests[0], blobs };
  } finally {
    await src.close();
  }
}

/** A layer tar made in code. */
export function layerTar(files: Record<string, string>): Buffer {
  const entries: TarEntry[] = Object.entries(files).map(([p, content]) => ({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, content: Buffer.from(content) }));
  return tarBuffer(entries);
}

function member(p: string, content: Buffer | string): TarEntry {
  return { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, content: Buffer.from(content) };
}

export interface SaveFixture {
  file: string;
  config: Buffer;
  diffIds: string[];
}

/**
 * A docker save archive of three layers, the first repeated on top (docker save links the copy), the
 * second gzip-compressed: `layout` 'legacy' as Docker wrote before 25 (`<id>/layer.tar`), 'oci' as since.
 */
export function dockerSave(file: string, layout: 'legacy' | 'oci', repoTags = ['example.com/app:1']): SaveFixture {
  const l1 = layerTar({ 'etc/one': 'one\n', 'etc/both': 'first\n' });
  const l2 = layerTar({ 'etc/two': 'two\n'.repeat(1000) });
  const l2gz = zlib.gzipSync(l2);
  const diffIds = [sha256(l1), sha256(l2), sha256(l1)];
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const hex = (b: Buffer) => sha256(b).slice(7);
  const entries: TarEntry[] = [];
  let layers: string[];
  let configName: string;
  if (layout === 'legacy') {
    const [id1, id2, id3] = ['1', '2', '3'].map((n) => hex(Buffer.from(n)));
    entries.push(member(`${id1}/VERSION`, '1.0'), member(`${id1}/json`, '{}'), member(`${id1}/layer.tar`, l1));
    entries.push(member(`${id2}/VERSION`, '1.0'), member(`${id2}/json`, '{}'), member(`${id2}/layer.tar`, l2gz));
    entries.push({ path: `${id3}/layer.tar`, type: 'symlink', linkname: `../${id1}/layer.tar`, mode: 0o777, uid: 0, gid: 0, mtime: 0 });
    configName = `${hex(config)}.json`;
    layers = [`${id1}/layer.tar`, `${id2}/layer.tar`, `${id3}/layer.tar`];
    entries.push(member(configName, config), member('repositories', '{}'));
  } else {
    for (const b of [l1, l2gz, config]) entries.push(member(`blobs/sha256/${hex(b)}`, b));
    entries.push(member('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), member('index.json', '{"schemaVersion":2,"manifests":[]}'));
    configName = `blobs/sha256/${hex(config)}`;
    layers = [`blobs/sha256/${hex(l1)}`, `blobs/sha256/${hex(l2gz)}`, `blobs/sha256/${hex(l1)}`];
  }
  entries.push(member('manifest.json', JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layers }])));
  fs.writeFileSync(file, tarBuffer(entries));
  return { file, config, diffIds };
}

/** The names in `dir`, recursively, with each file's sha256 (for "nothing was left" and "same tree" checks). */
export function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else out.push(`${r} ${sha256(fs.readFileSync(path.join(dir, r)))}`);
    }
  };
  walk('');
  return out;
}
