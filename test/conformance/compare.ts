/**
 * The comparison half of the Dockerfile conformance suite: read what a build produced — from a hod store (an OCI
 * image layout) or from buildah's containers-storage — in one normalised shape, list a root filesystem, and diff
 * two of each into readable lines. Nothing here knows which tool is "right": a diff is a list of differences,
 * each tagged with the field it is about so a case can name the ones it expects (with a reason).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** The run-time config fields the suite compares, in the order diffs are printed. */
export const CONFIG_FIELDS = [
  'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild',
] as const;
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/** An image reduced to what the suite compares. Missing, null, '' and empty arrays/objects are all `null`. */
export interface ImageSummary {
  /** The config digest's hex: the image id. */
  id: string;
  config: Record<ConfigField, unknown>;
  /** The top-level `author` (MAINTAINER). */
  author: string | null;
  /** Layers of the manifest. */
  layers: number;
  /** Entries of the config's history, and those of them not marked empty_layer. */
  history: number;
  nonEmptyHistory: number;
  /** The history's created_by lines, for the reader of a diff (not compared). */
  createdBy: string[];
}

interface RawManifest {
  config: { digest: string };
  layers: { digest: string }[];
}

interface RawConfig {
  author?: string;
  config?: Record<string, unknown>;
  rootfs?: { diff_ids?: string[] };
  history?: { created_by?: string; empty_layer?: boolean }[];
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** One shape for both tools: the raw config and manifest blobs, however they were fetched. */
export function summarise(manifest: RawManifest, config: RawConfig): ImageSummary {
  const c = config.config ?? {};
  const out = {} as Record<ConfigField, unknown>;
  for (const f of CONFIG_FIELDS) out[f] = isEmpty(c[f]) ? null : c[f];
  const history = config.history ?? [];
  return {
    id: manifest.config.digest.replace(/^sha256:/, ''),
    config: out,
    author: config.author || null,
    layers: manifest.layers.length,
    history: history.length,
    nonEmptyHistory: history.filter((h) => !h.empty_layer).length,
    createdBy: history.map((h) => h.created_by ?? ''),
  };
}

/** The image named `localhost/NAME:latest` (or a full `localhost/NAME:TAG`) in a hod store: index.json → manifest → config. */
export function hodImage(root: string, name: string): ImageSummary {
  const ref = name.includes(':') ? `localhost/${name}` : `localhost/${name}:latest`;
  const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!desc) throw new Error(`${ref} is not in ${root}/index.json`);
  const blob = (digest: string) => JSON.parse(fs.readFileSync(path.join(root, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8'));
  const manifest = blob(desc.digest) as RawManifest;
  return summarise(manifest, blob(manifest.config.digest) as RawConfig);
}

/** How to run buildah against one private storage. */
export interface BuildahStore {
  root: string;
  runroot: string;
}

export function buildahArgs(store: BuildahStore, args: string[]): string[] {
  return ['--root', store.root, '--runroot', store.runroot, '--storage-driver', 'vfs', ...args];
}

export function buildah(store: BuildahStore, args: string[], cwd?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('buildah', buildahArgs(store, args), { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

export function buildahOk(store: BuildahStore, args: string[]): string {
  const r = buildah(store, args);
  if (r.status !== 0) throw new Error(`buildah ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/**
 * The image in buildah's storage. `buildah inspect` gives the raw config blob (`.Config`) and manifest
 * (`.Manifest`) as strings: those, not the parsed `.OCIv1`, so a Docker-format image keeps its Docker-only fields.
 */
export function buildahImage(store: BuildahStore, name: string): ImageSummary {
  const ins = JSON.parse(buildahOk(store, ['inspect', '--type', 'image', name])) as { Config: string; Manifest: string };
  return summarise(JSON.parse(ins.Manifest) as RawManifest, JSON.parse(ins.Config) as RawConfig);
}

/** One entry of a root filesystem: type, mode, owner, size, link target, content hash. No times. */
export interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: string;
  uid: number;
  gid: number;
  /** Regular files and symlinks only: a directory's size is the file system's business. */
  size?: number;
  target?: string;
  sha256?: string;
  /** For the second and later names of a hard-linked file: the first name, in sorted walk order. */
  hardlinkOf?: string;
}

/** Every entry under `root` (not `root` itself), by absolute path inside the image ('/bin/sh'). */
export function listTree(root: string): Map<string, FileEntry> {
  const out = new Map<string, FileEntry>();
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = `${rel}/${name}`;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      const e: FileEntry = {
        type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket',
        mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isFile()) {
        e.size = st.size;
        e.sha256 = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
        if (st.nlink > 1) {
          const first = inodes.get(st.ino);
          if (first) e.hardlinkOf = first;
          else inodes.set(st.ino, r);
        }
      }
      if (st.isSymbolicLink()) {
        e.target = fs.readlinkSync(abs);
        e.size = st.size;
      }
      out.set(r, e);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

export function showEntry(e: FileEntry): string {
  const parts: string[] = [e.type, e.mode, `${e.uid}:${e.gid}`];
  if (e.size !== undefined) parts.push(`${e.size}B`);
  if (e.sha256) parts.push(`sha256:${e.sha256.slice(0, 12)}`);
  if (e.target !== undefined) parts.push(`-> ${e.target}`);
  if (e.hardlinkOf) parts.push(`hardlink-of ${e.hardlinkOf}`);
  return parts.join(' ');
}

/**
 * One difference. `field` names what it is about, so a known difference can name it: a config field ('Cmd'),
 * one key of a map field ('Labels.maintainer', 'ExposedPorts.80/tcp'), 'Author', 'layers', 'history', 'nonEmptyHistory',
 * or a path ('file:/etc/hosts').
 */
export interface Difference {
  field: string;
  line: string;
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** Differences between two images; `a` and `b` name the two sides in the lines ('buildah', 'hod'). */
export function diffImages(x: ImageSummary, y: ImageSummary, a = 'buildah', b = 'hod'): Difference[] {
  const out: Difference[] = [];
  for (const f of CONFIG_FIELDS) {
    const xv = x.config[f];
    const yv = y.config[f];
    const isMap = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if ((f === 'Labels' || f === 'ExposedPorts' || f === 'Volumes') && (isMap(xv) || isMap(yv))) {
      const xm = (xv ?? {}) as Record<string, unknown>;
      const ym = (yv ?? {}) as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(xm), ...Object.keys(ym)])].sort()) {
        if (JSON.stringify(xm[k]) !== JSON.stringify(ym[k])) out.push({ field: `${f}.${k}`, line: `${f}[${JSON.stringify(k)}]: ${a} ${show(xm[k])}, ${b} ${show(ym[k])}` });
      }
      continue;
    }
    if (JSON.stringify(xv) !== JSON.stringify(yv)) out.push({ field: f, line: `${f}: ${a} ${show(xv)}, ${b} ${show(yv)}` });
  }
  if (x.author !== y.author) out.push({ field: 'Author', line: `Author: ${a} ${show(x.author)}, ${b} ${show(y.author)}` });
  for (const f of ['layers', 'history', 'nonEmptyHistory'] as const) {
    if (x[f] !== y[f]) out.push({ field: f, line: `${f}: ${a} ${x[f]}, ${b} ${y[f]}` });
  }
  if (out.some((d) => d.field === 'history' || d.field === 'nonEmptyHistory')) {
    out.push({ field: 'history', line: `  ${a} history: ${x.createdBy.map((c) => JSON.stringify(c)).join(', ')}` });
    out.push({ field: 'history', line: `  ${b} history: ${y.createdBy.map((c) => JSON.stringify(c)).join(', ')}` });
  }
  return out;
}

/** Differences between two root filesystem listings, one per path. */
export function diffTrees(x: Map<string, FileEntry>, y: Map<string, FileEntry>, a = 'buildah', b = 'hod'): Difference[] {
  const out: Difference[] = [];
  for (const p of [...new Set([...x.keys(), ...y.keys()])].sort()) {
    const xe = x.get(p);
    const ye = y.get(p);
    if (!ye) out.push({ field: `file:${p}`, line: `${p}: only in ${a} (${showEntry(xe!)})` });
    else if (!xe) out.push({ field: `file:${p}`, line: `${p}: only in ${b} (${showEntry(ye)})` });
    else if (showEntry(xe) !== showEntry(ye)) out.push({ field: `file:${p}`, line: `${p}: ${a} ${showEntry(xe)}, ${b} ${showEntry(ye)}` });
  }
  return out;
}

/** A difference a case (or the whole suite) expects, with the reason. */
export interface KnownDifference {
  /** Matches a Difference's field exactly, or any field under it ('Labels' covers 'Labels.x', 'file:/run' covers 'file:/run/x'). */
  field: string;
  why: string;
  /** Only the exact field, not what is under it ('file:/etc' without the files in /etc). */
  exact?: boolean;
}

export function matches(k: KnownDifference, d: Difference): boolean {
  if (d.field === k.field) return true;
  if (k.exact) return false;
  return d.field.startsWith(k.field + '.') || d.field.startsWith(k.field + '/');
}

/** Split differences into those no known difference explains and those one does (with its reason). */
export function partition(diffs: Difference[], known: KnownDifference[]): { unexplained: Difference[]; explained: { d: Difference; why: string }[] } {
  const unexplained: Difference[] = [];
  const explained: { d: Difference; why: string }[] = [];
  for (const d of diffs) {
    const k = known.find((k) => matches(k, d));
    if (k) explained.push({ d, why: k.why });
    else unexplained.push(d);
  }
  return { unexplained, explained };
}
