import fs from 'node:fs';
import path from 'node:path';
import type { TarEntry } from './tar-writer.js';
import { WHITEOUT_OPAQUE as OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from '../store/whiteout.js';
import { loadSnapshot, type Snapshot } from '../mount/vfs-snapshot.js';

export type XattrMap = Map<string, Record<string, Buffer>>;

export interface ChangeOptions {
  /** Every entry's mtime becomes this (`--timestamp`). */
  timestamp?: number;
  /** mtimes later than this are clamped to it (SOURCE_DATE_EPOCH). */
  clamp?: number;
  /** Extended attributes by absolute path, read in one batch. */
  xattrs: XattrMap;
}

/** overlayfs' (and fuse-overlayfs') own bookkeeping attributes never belong in a layer. */
const OVERLAY_XATTR = /^((trusted|user)\.overlay|user\.fuseoverlayfs)\./;
const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];

function mtimeOf(st: fs.Stats, o: ChangeOptions): number {
  if (o.timestamp !== undefined) return o.timestamp;
  const t = Math.floor(st.mtimeMs / 1000);
  return o.clamp !== undefined && t > o.clamp ? o.clamp : t;
}

function layerXattrs(abs: string, o: ChangeOptions): Record<string, Buffer> | undefined {
  const all = o.xattrs.get(abs);
  if (!all) return undefined;
  let out: Record<string, Buffer> | undefined;
  for (const [k, v] of Object.entries(all)) {
    if (OVERLAY_XATTR.test(k)) continue;
    (out ??= {})[k] = v;
  }
  return out;
}

/** Turn one file on disk into a tar entry; hard links to an inode already emitted become 'hardlink'. */
function entryFor(abs: string, rel: string, st: fs.Stats, o: ChangeOptions, inodes: Map<string, string>): TarEntry {
  const base = { path: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st, o), xattrs: layerXattrs(abs, o) };
  if (st.isDirectory()) return { ...base, type: 'dir' };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: fs.readlinkSync(abs) };
  if (st.isFile()) {
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = inodes.get(key);
      if (first !== undefined) return { ...base, type: 'hardlink', linkname: first };
      inodes.set(key, rel);
    }
    return { ...base, type: 'file', size: st.size, source: abs };
  }
  const dev = { devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
  if (st.isCharacterDevice()) return { ...base, type: 'char', ...dev };
  if (st.isBlockDevice()) return { ...base, type: 'block', ...dev };
  if (st.isFIFO()) return { ...base, type: 'fifo' };
  throw new Error(`${abs}: sockets cannot be stored in a layer`);
}

function whiteout(rel: string, st: fs.Stats, o: ChangeOptions): TarEntry {
  const dir = path.posix.dirname(rel);
  const name = WHITEOUT_PREFIX + path.posix.basename(rel);
  return { path: dir === '.' ? name : `${dir}/${name}`, type: 'file', size: 0, mode: 0, uid: st.uid, gid: st.gid, mtime: mtimeOf(st, o), content: Buffer.alloc(0) };
}

function sortedNames(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/**
 * The changes of an overlay builder, read straight from its upper directory (mounted or not): a char
 * device 0:0 is a deleted path, an opaque directory replaced everything below it.
 */
export function* overlayChanges(upper: string, o: ChangeOptions): Generator<TarEntry> {
  const inodes = new Map<string, string>();
  function* walk(absDir: string, relDir: string): Generator<TarEntry> {
    for (const name of sortedNames(absDir)) {
      const abs = path.join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      const st = fs.lstatSync(abs);
      if (st.isCharacterDevice() && st.rdev === 0) {
        yield whiteout(rel, st, o);
        continue;
      }
      yield entryFor(abs, rel, st, o, inodes);
      if (st.isDirectory()) {
        const attrs = o.xattrs.get(abs);
        if (attrs && OPAQUE_XATTRS.some((k) => attrs[k]?.toString() === 'y')) {
          yield { path: `${rel}/${OPAQUE_WHITEOUT}`, type: 'file', size: 0, mode: 0, uid: st.uid, gid: st.gid, mtime: mtimeOf(st, o), content: Buffer.alloc(0) };
        }
        yield* walk(abs, rel);
      }
    }
  }
  yield* walk(upper, '');
}

/**
 * The changes of a vfs builder: entries whose inode or ctime differ from the snapshot taken when the rootfs
 * was made (or last committed), and whiteouts for paths that are gone.
 */
export function* vfsChanges(rootfs: string, snapshotPath: string, o: ChangeOptions): Generator<TarEntry> {
  const snap: Snapshot = loadSnapshot(snapshotPath);
  const inodes = new Map<string, string>();
  const seen = new Set<string>();
  function* walk(absDir: string, relDir: string): Generator<TarEntry> {
    const names = sortedNames(absDir);
    for (const name of names) {
      const abs = path.join(absDir, name);
      const rel = relDir ? `${relDir}/${name}` : name;
      const st = fs.lstatSync(abs);
      seen.add(rel);
      const old = snap.get(rel);
      const changed = !old || old.ino !== st.ino || old.ctime !== st.ctimeMs;
      // a directory replaced by a new one (new inode) hides everything the old one held
      const replacedDir = st.isDirectory() && old !== undefined && old.dir && old.ino !== st.ino;
      if (changed) yield entryFor(abs, rel, st, o, inodes);
      else if (st.isFile() && st.nlink > 1) inodes.set(`${st.dev}:${st.ino}`, rel);
      if (replacedDir) yield { path: `${rel}/${OPAQUE_WHITEOUT}`, type: 'file', size: 0, mode: 0, uid: st.uid, gid: st.gid, mtime: mtimeOf(st, o), content: Buffer.alloc(0) };
      if (st.isDirectory()) yield* walk(abs, rel);
    }
  }
  yield* walk(rootfs, '');
  // deletions; below a deleted directory its own whiteout says it all
  const gone = [...snap.keys()].filter((p) => !seen.has(p)).sort();
  let lastGone: string | undefined;
  for (const p of gone) {
    if (lastGone !== undefined && p.startsWith(lastGone + '/')) continue;
    const parent = path.posix.dirname(p);
    if (parent !== '.' && !seen.has(parent)) continue;
    lastGone = p;
    const dir = parent === '.' ? '' : `${parent}/`;
    yield { path: `${dir}${WHITEOUT_PREFIX}${path.posix.basename(p)}`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: o.timestamp ?? o.clamp ?? 0, content: Buffer.alloc(0) };
  }
}
