/**
 * `copy` and `add`: putting files, directories, archives and URLs into a working container's root filesystem,
 * with Dockerfile COPY/ADD semantics as buildah implements them (docs/buildah-copy.1.md, buildah-add.1.md).
 *
 * Sources are local paths (globs allowed), resolved in a *source root*: the host's `/` (relative paths from the
 * current directory), the `contextDir` (which then acts as a chroot: absolute paths are read from it, `..` may not
 * leave it, symlinks resolve inside it), or the root filesystem of another container or image (`from`). A source
 * that names a symlink is followed (its target is copied under the source's name); symlinks found inside a
 * copied directory are copied as symlinks. A directory source copies its *contents*. With `extract` (ADD), a
 * local file that is a tar archive (plain, gzip, bzip2, xz, zstd) is unpacked into the destination instead.
 * http(s) URLs are downloaded (with `copy` too, as buildah does) and never unpacked.
 *
 * The destination is a path in the container (relative ones from its WorkingDir), resolved like a chroot would:
 * symlinks in the container lead elsewhere in the container, never to the host. It is a directory if it ends in
 * "/" (or "/."), already is one, is the working directory, or must be one because the single source is a
 * directory or an archive to unpack; several source items need a directory destination (Docker's rule: ending
 * in "/" or existing), otherwise a single file or URL is written *as* the destination path.
 *
 * Metadata: ownership 0:0 (or `chown`) unless copying `from` a container or image, or unpacking an archive,
 * without `chown`, which keeps it; modes from the source (URLs: 0600) unless `chmod`, which applies to files and directories alike; mtimes
 * from the source (URLs: Last-Modified, else the epoch); hard links among one source item's files stay links.
 * Directories created to hold the destination are 0755, owned by `chown` or 0:0.
 *
 * Host paths are handled as byte strings (see pathsafe.ts) so that names that are not UTF-8 survive; trees are
 * walked with synchronous fs calls, which are much faster than per-file promises for many small files.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Minimatch } from 'minimatch';
import type { request as undiciRequest } from 'undici';
import { HodError, NotFoundError, UsageError } from '../errors.js';
import { tmpName } from '../store/atomic.js';
import { PathEscapeError, cleanRelative, fromByteString, safeJoin, toByteString } from '../store/pathsafe.js';
import type { Store } from '../store/store.js';
import { isTarArchive, unpackLayer } from '../store/unpack.js';
import { getXattrsTree, mknodMany, setXattrsMany, type DeviceNode, type Xattrs } from '../store/xattr.js';
import { driverFor } from '../mount/driver.js';
import { mount, remove, unmount } from './containers.js';
import { from as fromImage } from './from.js';
import { findRecord, loadRecord } from './records.js';
import { defaultTls } from '../registry/tls.js';
import { liftoffOnly } from '../registry/wasm-flags.js';

export interface AddOptions {
  /** "user[:group]": names are looked up in the container's /etc/passwd and /etc/group; numbers are taken as is. */
  chown?: string;
  /** Octal permissions for every copied file and directory. */
  chmod?: string;
  /** Copy from the root filesystem of this working container or (local) image instead of the host. */
  from?: string;
  /** Sources are read inside this directory (like a chroot) and may not escape it. With `from`, a path in that root. */
  contextDir?: string;
  /**
   * A .dockerignore-style file (patterns relative to contextDir, `!` exceptions, `**`). Requires contextDir.
   * Without it, contextDir's .containerignore or .dockerignore is used if there is one (as buildah does).
   */
  ignoreFile?: string;
  /** More exclusion patterns, in the ignore file's syntax, applied after it. */
  exclude?: string[];
  /** true for `add`: local tar archives are unpacked into the destination. URLs are never unpacked. */
  extract: boolean;
  /** Skip computing the content digest (`copy --quiet` prints none). */
  quiet?: boolean;
}

export interface AddResult {
  /**
   * What buildah prints after copying: the hex of a digest of the content, unless `quiet` or nothing was copied.
   * For a URL it is the sha256 of the downloaded bytes, as buildah's. For local items it is hod's own: the sha256
   * of a canonical listing (name, type, mode, owner, size or link target, then content) with times left out, so
   * it changes when the copied content does; it is not byte-for-byte buildah's, whose input is Go's tar stream.
   * Several items combine as buildah does: sha256 of "type:hex,type:hex,...".
   */
  digest?: string;
  /** "file", "dir", "" (URL) or "multi", as buildah's content types. */
  contentType: string;
}

interface Owner {
  uid: number;
  gid: number;
}

/** A local source item: one match of one source argument. */
export interface Item {
  spec: string;
  /** Lexical path in the source root, as components (byte strings). */
  comps: string[];
  /** Host path of what it resolves to (byte string), symlinks followed. */
  host: string;
  st: fs.Stats;
  /** Path relative to the context, for exclusion patterns ("." for the context itself). */
  rel: string;
  archive: boolean;
}

const B = (p: string): Buffer => Buffer.from(p, 'latin1');
const GLOB_CHARS = /[*?[]/;
const URL_RE = /^https?:\/\//i;

/** Copy `sources` into `container` at `dest`. See the module doc. */
export async function add(store: Store, container: string, sources: string[], dest: string, opts: AddOptions): Promise<AddResult> {
  if (sources.length === 0) throw new UsageError('no source given');
  if (sources.some((s) => s === '')) throw new UsageError('empty source location');
  const chmod = parseChmod(opts.chmod);
  if (opts.ignoreFile !== undefined && opts.contextDir === undefined) {
    throw new UsageError('--ignorefile requires that a context directory be given with --contextdir');
  }
  const rec = loadRecord(store, container);
  const cleanups: (() => Promise<void>)[] = [];
  let failed = false;
  try {
    const rootfs = await mountFor(store, rec.id, cleanups);
    const owner = opts.chown !== undefined ? userForCopy(rootfs, opts.chown) : undefined;
    const src = await sourceRoot(store, opts, rec.id, rootfs, cleanups);
    const excluder = Excluder.load(src, opts);
    return await copyAll(store, rootfs, rec.image.config.WorkingDir ?? '', sources, dest, opts, { owner, chmod, preserve: opts.from !== undefined }, src, excluder);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        if (!failed) throw err; // else the first error is the one to report
      }
    }
  }
}

/** Mount a container's rootfs; unmount it again afterwards (via `cleanups`) if it was not mounted before. */
async function mountFor(store: Store, id: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  const rec = loadRecord(store, id);
  const driver = await driverFor(rec.driver);
  const wasMounted = rec.mountPoint !== undefined && driver.isMounted(store, rec);
  const m = await mount(store, id);
  if (!wasMounted) {
    cleanups.push(async () => {
      try {
        await unmount(store, id);
      } catch {
        // busy (another hod process is using it): it stays mounted, which does no harm
      }
    });
  }
  return fs.realpathSync(m.path);
}

// ---------------------------------------------------------------------------------------------------------------
// Sources

export interface SourceRoot {
  /** Host path of the root that sources are resolved in (byte string). */
  root: string;
  /** Components of the context directory inside root (sources must lie under it; excludes are relative to it). */
  ctx: string[];
  /** Components of the directory relative sources start from (the process's cwd for the host root). */
  base: string[];
  /** The host's "/" as root: relative paths from the cwd, nothing to escape. */
  hostRoot: boolean;
  /** For messages: where sources were looked for, and what they may not leave. */
  where: string;
  fence: string;
  /** Host path of the context directory (UTF-8), for ignore files. */
  ctxHost?: string;
}

async function sourceRoot(store: Store, opts: AddOptions, targetId: string, targetRootfs: string, cleanups: (() => Promise<void>)[]): Promise<SourceRoot> {
  if (opts.from !== undefined) {
    let root: string;
    const other = findRecord(store, opts.from);
    if (other) {
      root = other.id === targetId ? targetRootfs : await mountFor(store, other.id, cleanups);
    } else {
      if (!store.images.find(opts.from)) throw new NotFoundError('container or image', opts.from);
      // buildah's way: a temporary working container from the image, removed afterwards
      const tmp = await fromImage(store, opts.from, { name: `hod-copy-from-${crypto.randomBytes(6).toString('hex')}` });
      cleanups.push(async () => void (await remove(store, tmp.id)));
      root = fs.realpathSync((await mount(store, tmp.id)).path);
    }
    let ctx: string[] = [];
    if (opts.contextDir !== undefined) {
      try {
        ctx = cleanRelative(toByteString(opts.contextDir));
      } catch {
        throw new UsageError(`--contextdir "${opts.contextDir}" climbs above the root of "${opts.from}"`);
      }
      const st = lstatOrUndefined(safeJoin(toByteString(root), ctx.join('/'), { followFinal: true, encoding: 'latin1' }));
      if (!st?.isDirectory()) throw new HodError('ENOENT', `context directory "${opts.contextDir}" not found in "${opts.from}"`);
    }
    const rootB = toByteString(root);
    return {
      root: rootB, ctx, base: ctx, hostRoot: false, where: ` in "${opts.from}"`, fence: `"${opts.contextDir ?? '/'}" in "${opts.from}"`,
      // buildah reads the context's ignore file only when a context directory is given
      ctxHost: opts.contextDir === undefined ? undefined : fromByteString(safeJoin(rootB, ctx.join('/'), { followFinal: true, encoding: 'latin1' })),
    };
  }
  if (opts.contextDir !== undefined) return contextRoot(opts.contextDir);
  return { root: '/', ctx: [], base: [], hostRoot: true, where: '', fence: '/' };
}

/** A host directory as the source root: sources are read inside it and may not leave it. */
export function contextRoot(contextDir: string): SourceRoot {
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(contextDir));
    if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new HodError('ENOENT', `context directory "${contextDir}" not found or not a directory`);
  }
  return { root: toByteString(real), ctx: [], base: [], hostRoot: false, where: ` in context directory "${contextDir}"`, fence: `the context directory "${contextDir}"`, ctxHost: real };
}

/** Expand one source argument into its items: glob matches, sorted, or the one path it names. */
export async function expandSource(src: SourceRoot, spec: string, extract: boolean): Promise<Item[]> {
  const given = toByteString(spec);
  let comps: string[];
  if (src.hostRoot) {
    comps = path.posix.resolve(spec).split('/').filter(Boolean).map(toByteString);
  } else {
    try {
      comps = cleanRelative(given.startsWith('/') ? given : [...src.base, given].join('/'));
    } catch (err) {
      if (err instanceof PathEscapeError) throw escapeError(spec, src);
      throw err;
    }
    if (src.ctx.some((c, i) => comps[i] !== c)) throw escapeError(spec, src);
  }
  let matches: string[][] = [[]];
  for (const c of comps) {
    if (!GLOB_CHARS.test(c)) {
      for (const m of matches) m.push(c);
      continue;
    }
    const mm = new Minimatch(fromByteString(c), { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true });
    const next: string[][] = [];
    for (const m of matches) {
      const dir = safeJoin(src.root, m.join('/'), { followFinal: true, encoding: 'latin1' });
      let names: string[];
      try {
        names = (fs.readdirSync(B(dir), { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('latin1')).sort();
      } catch {
        continue;
      }
      for (const n of names) if (mm.match(fromByteString(n))) next.push([...m, n]);
    }
    matches = next;
  }
  const items: Item[] = [];
  for (const m of matches) {
    const host = safeJoin(src.root, m.join('/'), { followFinal: true, encoding: 'latin1' });
    const st = lstatOrUndefined(host);
    if (!st) continue;
    const rel = m.slice(src.ctx.length).map(fromByteString).join('/') || '.';
    const archive = extract && st.isFile() && (await isTarArchive(fromByteString(host)));
    items.push({ spec, comps: m, host, st, rel, archive });
  }
  if (items.length === 0) {
    if (GLOB_CHARS.test(spec)) throw new HodError('ENOENT', `no files match "${spec}"${src.where}`);
    throw new HodError('ENOENT', `source "${spec}"${src.where}: no such file or directory`);
  }
  return items;
}

function escapeError(spec: string, src: SourceRoot): UsageError {
  return new UsageError(`source "${spec}" is outside of ${src.fence}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The copy

interface Meta {
  owner?: Owner;
  chmod?: number;
  /** Keep the source's ownership when no owner is given (copying from a container or image). */
  preserve: boolean;
}

async function copyAll(
  store: Store, rootfsUtf8: string, workdir: string, sources: string[], dest: string, opts: AddOptions, meta: Meta,
  src: SourceRoot, excluder: Excluder | undefined,
): Promise<AddResult> {
  const rootfs = toByteString(rootfsUtf8);
  const urls = sources.filter((s) => URL_RE.test(s));
  const perSpec: Item[][] = [];
  for (const s of sources) if (!URL_RE.test(s)) perSpec.push(await expandSource(src, s, opts.extract));
  const items = perSpec.flat();
  const count = items.length + urls.length;

  // What the destination is.
  const wd = '/' + workdir.replace(/^\/+/, '');
  const absDest = dest === '' ? wd : dest.startsWith('/') ? dest : wd.replace(/\/+$/, '') + '/' + dest;
  const last = dest.split('/').pop();
  let mustBeDir = dest === '' || dest.endsWith('/') || last === '.' || last === '..' || path.posix.normalize(absDest + '/') === path.posix.normalize(wd + '/');
  const destB = toByteString(absDest);
  const followed = lstatOrUndefined(safeJoin(rootfs, destB, { followFinal: true, encoding: 'latin1' }));
  const destIsDir = followed?.isDirectory() === true;
  if (count > 1 && !mustBeDir && !destIsDir) {
    throw new UsageError(`copying ${count} items needs the destination "${dest}" to be a directory: end it with "/"`);
  }
  const one = count === 1 ? items[0] : undefined;
  if (count > 1 || (one && (one.st.isDirectory() || one.archive))) mustBeDir = true;
  if (followed && !destIsDir && mustBeDir) throw new HodError('ENOTDIR', `destination "${dest}" already exists but is not a directory`);
  const dirOwner = meta.owner ?? { uid: 0, gid: 0 };
  let destDir: string | undefined; // host path of the destination directory
  let destFile: string | undefined; // host path of the destination file (a single file or URL written as dest)
  if (mustBeDir || destIsDir) {
    destDir = ensureDirAt(rootfs, destB, dirOwner, dest);
  } else {
    const parent = ensureDirAt(rootfs, toByteString(path.posix.dirname(absDest)), dirOwner, dest);
    destFile = parent + '/' + toByteString(path.posix.basename(absDest));
  }

  const digests: { type: string; hex: string }[] = [];
  const hashFor = (): crypto.Hash | undefined => (opts.quiet ? undefined : crypto.createHash('sha256'));

  for (const specItems of perSpec) {
    let copied = 0;
    for (const item of specItems) {
      const excluded = excluder !== undefined && item.rel !== '.' && excluder.excluded(item.rel);
      if (excluded && !(item.st.isDirectory() && excluder.mayIncludeUnder(item.rel))) continue;
      copied++;
      const hash = hashFor();
      if (item.st.isDirectory()) {
        const c = new TreeCopier(rootfs, meta, excluder, hash, await relevantXattrs(item.host));
        c.contents(item.host, () => destDir!, '', item.rel);
        await c.finish();
      } else if (item.archive) {
        await unpackArchive(store, rootfs, item, destDir!, meta, hash);
      } else {
        const name = item.comps[item.comps.length - 1] ?? '';
        const c = new TreeCopier(rootfs, meta, excluder, hash, await relevantXattrs(item.host));
        const target = destFile ?? destDir + '/' + name;
        c.nonDir(item.host, item.st, target, destFile ? path.posix.basename(destB) : name);
        await c.finish();
      }
      if (hash) digests.push({ type: item.st.isDirectory() ? 'dir' : 'file', hex: hash.digest('hex') });
    }
    if (copied === 0) {
      const spec = specItems[0].spec;
      const using = opts.ignoreFile ? ` using ${opts.ignoreFile}` : '';
      throw new HodError('ENOENT', `no items matching "${spec}" copied (${specItems.length} filtered out${using})`);
    }
  }

  for (const u of urls) {
    const hash = hashFor();
    let target = destFile;
    if (!target) {
      let name = '';
      try {
        name = path.posix.basename(decodeURIComponent(new URL(u).pathname));
      } catch {
        throw new UsageError(`invalid URL "${u}"`);
      }
      if (name === '' || name === '.' || name === '..') throw new UsageError(`cannot tell a file name from the URL "${u}": give the destination file name`);
      target = destDir + '/' + toByteString(name);
    }
    await download(u, target, meta, hash);
    if (hash) digests.push({ type: '', hex: hash.digest('hex') });
  }

  if (digests.length === 0) return { contentType: '' };
  if (digests.length === 1) return { contentType: digests[0].type, digest: digests[0].hex };
  const composite = digests.map((d) => (d.type ? `${d.type}:${d.hex}` : d.hex)).join(',');
  return { contentType: 'multi', digest: crypto.createHash('sha256').update(composite).digest('hex') };
}

/**
 * Make sure the container path `cpath` (byte string) is a directory, creating what is missing (0755, `owner`),
 * and return its host path. Symlinks on the way resolve inside the rootfs.
 */
function ensureDirAt(rootfs: string, cpath: string, owner: Owner, display: string): string {
  const host = safeJoin(rootfs, cpath, { followFinal: true, encoding: 'latin1' });
  mkdirHost(rootfs, host, owner, display);
  return host;
}

/** mkdir -p for a host path that safeJoin produced (no symlinks in it below rootfs). */
function mkdirHost(rootfs: string, host: string, owner: Owner, display: string): void {
  const st = lstatOrUndefined(host);
  if (st) {
    if (st.isDirectory()) return;
    throw new HodError('ENOTDIR', `cannot create directory for "${display}": "${fromByteString(host.slice(rootfs.length)) || '/'}" exists and is not a directory`);
  }
  if (host.length <= rootfs.length) throw new HodError('ENOENT', `the container's root filesystem is missing: ${fromByteString(rootfs)}`);
  mkdirHost(rootfs, path.posix.dirname(host), owner, display);
  fs.mkdirSync(B(host), 0o700);
  fs.lchownSync(B(host), owner.uid, owner.gid);
  fs.chmodSync(B(host), 0o755);
}

/**
 * Copies entries onto the container's rootfs, one source item at a time: hard links are kept within it, device
 * nodes are made in one batch, directory times are set last.
 */
class TreeCopier {
  private readonly links = new Map<string, { host: string; name: string }>();
  private readonly dirTimes: [string, number, number][] = [];
  private readonly nodes: { node: DeviceNode; st: fs.Stats }[] = [];
  private readonly pendingXattrs: [string, Xattrs][] = [];

  constructor(
    private readonly rootfs: string,
    private readonly meta: Meta,
    private readonly excluder: Excluder | undefined,
    private readonly hash: crypto.Hash | undefined,
    /** The xattrs worth keeping of the source files, by host path (see relevantXattrs). */
    private readonly xattrs?: Map<string, Xattrs>,
  ) {}

  /** Copy the contents of directory `src` into the directory `dst()` gives (made on demand); `name` for digests. */
  contents(src: string, dst: () => string, name: string, rel: string): void {
    const names = (fs.readdirSync(B(src), { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('latin1')).sort();
    for (const n of names) {
      const s = src === '/' ? '/' + n : src + '/' + n;
      const st = fs.lstatSync(B(s));
      const r = rel === '.' || rel === '' ? fromByteString(n) : rel + '/' + fromByteString(n);
      const nm = name ? name + '/' + n : n;
      const ex = this.excluder?.excluded(r) ?? false;
      if (st.isDirectory()) {
        if (!ex) {
          const d = this.dir(s, st, dst() + '/' + n, nm);
          this.contents(s, () => d, nm, r);
        } else if (this.excluder!.mayIncludeUnder(r)) {
          // only made if something under it is copied after all
          let made: string | undefined;
          this.contents(s, () => (made ??= this.dir(s, st, dst() + '/' + n, nm)), nm, r);
        }
        continue;
      }
      if (!ex) this.nonDir(s, st, dst() + '/' + n, nm);
    }
  }

  /** Make (or reuse) the directory at host path `d` with the metadata of `st`; returns where its content goes. */
  private dir(src: string, st: fs.Stats, d: string, name: string): string {
    this.record(name, 'dir', st, '');
    let target = d;
    const cur = lstatOrUndefined(d);
    if (cur?.isSymbolicLink()) {
      // a symlink to a directory in the container (e.g. /lib -> usr/lib) is followed, inside the rootfs
      const resolved = safeJoin(this.rootfs, d.slice(this.rootfs.length), { followFinal: true, encoding: 'latin1' });
      if (lstatOrUndefined(resolved)?.isDirectory()) target = resolved;
      else {
        fs.unlinkSync(B(d));
        fs.mkdirSync(B(d), 0o700);
      }
    } else if (cur && !cur.isDirectory()) {
      fs.unlinkSync(B(d));
      fs.mkdirSync(B(d), 0o700);
    } else if (!cur) {
      fs.mkdirSync(B(d), 0o700);
    }
    this.setOwnerMode(target, st, false);
    this.keepXattrs(src, target);
    this.dirTimes.push([target, st.atimeMs / 1000, st.mtimeMs / 1000]);
    return target;
  }

  /** Copy one non-directory `src` (lstat `st`) to host path `d`, replacing whatever is there. */
  nonDir(src: string, st: fs.Stats, d: string, name: string): void {
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first !== undefined) {
        this.record(name, 'link', st, first.name);
        this.replace(d, () => fs.linkSync(B(first.host), B(d)));
        return;
      }
      this.record(name, 'file', st, String(st.size));
      this.replace(d, () => copyFile(src, d, this.hash));
      if (st.nlink > 1) this.links.set(key, { host: d, name });
    } else if (st.isSymbolicLink()) {
      const target = (fs.readlinkSync(B(src), { encoding: 'buffer' }) as Buffer).toString('latin1');
      this.record(name, 'symlink', st, target);
      this.replace(d, () => fs.symlinkSync(B(target), B(d)));
    } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
      this.record(name, st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block', st, `${major(st.rdev)},${minor(st.rdev)}`);
      if (lstatOrUndefined(d)) fs.rmSync(B(d), { recursive: true, force: true });
      const kind = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'block';
      this.nodes.push({ node: { path: d, kind, major: major(st.rdev), minor: minor(st.rdev), mode: this.modeOf(st) }, st });
      this.keepXattrs(src, d);
      return;
    } else {
      return; // sockets: no archive carries them, buildah skips them too
    }
    this.setOwnerMode(d, st, st.isSymbolicLink());
    this.keepXattrs(src, d);
    fs.lutimesSync(B(d), st.atimeMs / 1000, st.mtimeMs / 1000);
  }

  private keepXattrs(src: string, dst: string): void {
    const x = this.xattrs?.get(src);
    if (x) this.pendingXattrs.push([dst, x]);
  }

  /** Device nodes, xattrs (after every chown, which drops security.capability), then directory times. */
  async finish(): Promise<void> {
    if (this.nodes.length) {
      await mknodMany(this.nodes.map((n) => n.node), { encoding: 'latin1' });
      for (const { node, st } of this.nodes) {
        this.setOwnerMode(node.path, st, false);
        fs.lutimesSync(B(node.path), st.atimeMs / 1000, st.mtimeMs / 1000);
      }
    }
    if (this.pendingXattrs.length) {
      await setXattrsMany(this.pendingXattrs, { encoding: 'latin1' });
    }
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const [d, a, m] = this.dirTimes[i];
      fs.utimesSync(B(d), a, m);
    }
  }

  /** Run `make`, which fails with EEXIST if something is at `d`; then remove that (any type, like buildah) and retry. */
  private replace(d: string, make: () => void): void {
    try {
      make();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fs.rmSync(B(d), { recursive: true, force: true });
    make();
  }

  private modeOf(st: fs.Stats): number {
    return this.meta.chmod ?? st.mode & 0o7777;
  }

  private setOwnerMode(d: string, st: fs.Stats, symlink: boolean): void {
    const o = this.meta.owner ?? (this.meta.preserve ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
    fs.lchownSync(B(d), o.uid, o.gid);
    if (!symlink) fs.chmodSync(B(d), this.modeOf(st)); // after chown, which clears setuid/setgid
  }

  /** The digest's canonical listing: one header line per entry (times left out), file content follows it. */
  private record(name: string, type: string, st: fs.Stats, extra: string): void {
    if (!this.hash) return;
    const o = this.meta.owner ?? (this.meta.preserve ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
    const mode = type === 'symlink' ? 0o777 : this.modeOf(st);
    this.hash.update(B(`${type}\0${name}\0${mode.toString(8)}\0${o.uid}:${o.gid}\0${extra}\n`));
  }
}

let copyBuf: Buffer | undefined;

/**
 * The extended attributes buildah keeps when copying (security.capability, security.ima, user.* but not
 * user.overlay.*) of everything under host path `top` (byte string), in one getfattr run. Best effort: a
 * host without getfattr, or a filesystem without xattrs, gives none.
 */
async function relevantXattrs(top: string): Promise<Map<string, Xattrs> | undefined> {
  let all: Map<string, Xattrs>;
  try {
    all = await getXattrsTree(top, { encoding: 'latin1' });
  } catch {
    return undefined;
  }
  const out = new Map<string, Xattrs>();
  for (const [p, attrs] of all) {
    let keep: Xattrs | undefined;
    for (const [k, v] of Object.entries(attrs)) {
      const relevant = k === 'security.capability' || k === 'security.ima' || (k.startsWith('user.') && !k.startsWith('user.overlay.'));
      if (relevant) (keep ??= {})[k] = v;
    }
    if (keep) out.set(p, keep);
  }
  return out.size ? out : undefined;
}

/** Copy a regular file to `dst`, which must not exist (EEXIST otherwise; a symlink there is not followed). */
function copyFile(src: string, dst: string, hash: crypto.Hash | undefined): void {
  if (!hash) {
    fs.copyFileSync(B(src), B(dst), fs.constants.COPYFILE_EXCL);
    return;
  }
  const fdIn = fs.openSync(B(src), 'r');
  try {
    const fdOut = fs.openSync(B(dst), 'wx', 0o600);
    try {
      const buf = (copyBuf ??= Buffer.allocUnsafe(1 << 20));
      for (;;) {
        const n = fs.readSync(fdIn, buf, 0, buf.length, null);
        if (n === 0) break;
        const chunk = buf.subarray(0, n);
        hash.update(chunk);
        for (let off = 0; off < n; ) off += fs.writeSync(fdOut, chunk, off, n - off);
      }
    } finally {
      fs.closeSync(fdOut);
    }
  } finally {
    fs.closeSync(fdIn);
  }
}

function major(dev: number): number {
  return ((dev >> 8) & 0xfff) | ((Math.floor(dev / 2 ** 32) & 0xfffff000) >>> 0);
}

function minor(dev: number): number {
  return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

/** ADD of a local archive: unpacked into the destination directory (a staging directory first for --chmod). */
async function unpackArchive(store: Store, rootfs: string, item: Item, destDir: string, meta: Meta, hash: crypto.Hash | undefined): Promise<void> {
  // an archive's own owners are kept unless --chown says otherwise, as buildah and Docker do
  const ownership = meta.owner;
  const open = (): Readable => {
    const raw = fs.createReadStream(B(item.host), { highWaterMark: 1 << 20 });
    if (!hash) return raw;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    raw.on('error', (e) => tap.destroy(e));
    return raw.pipe(tap);
  };
  try {
    if (meta.chmod === undefined) {
      await unpackLayer(open(), fromByteString(destDir), { whiteouts: 'none', ownership });
      return;
    }
    const staging = tmpName(store.paths.tmp, 'add');
    try {
      await unpackLayer(open(), staging, { whiteouts: 'none', ownership });
      const c = new TreeCopier(rootfs, { chmod: meta.chmod, preserve: true }, undefined, undefined);
      c.contents(toByteString(staging), () => destDir, '', '.');
      await c.finish();
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    if (err instanceof HodError) throw new HodError(err.code, `unpacking "${item.spec}": ${err.message}`, { cause: err });
    throw err;
  }
}

/** Download `url` to host path `target` (a file; whatever is there is replaced). Never unpacked. */
async function download(url: string, target: string, meta: Meta, hash: crypto.Hash | undefined): Promise<void> {
  // undici is a megabyte of code that only URL sources need
  const { EnvHttpProxyAgent, interceptors, request } = await import('undici');
  liftoffOnly();
  const tls = defaultTls();
  const agent = new EnvHttpProxyAgent({ connect: tls, requestTls: tls, proxyTls: tls });
  try {
    let res: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      res = await request(url, { method: 'GET', dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 10 })) });
    } catch (err) {
      throw new HodError('EHTTP', `fetching "${url}": ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode < 200 || res.statusCode >= 400) {
      await res.body.dump();
      throw new HodError('EHTTP', `fetching "${url}": invalid response status ${res.statusCode}`);
    }
    let mtime = 0;
    const lm = res.headers['last-modified'];
    if (typeof lm === 'string' && lm !== '') {
      const t = Date.parse(lm);
      if (Number.isNaN(t)) {
        await res.body.dump();
        throw new HodError('EHTTP', `fetching "${url}": cannot parse Last-Modified "${lm}"`);
      }
      mtime = t / 1000;
    }
    if (lstatOrUndefined(target)) fs.rmSync(B(target), { recursive: true, force: true });
    const out = fs.createWriteStream(B(target), { flags: 'wx', mode: 0o600 });
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash?.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body, tap, out);
    } catch (err) {
      fs.rmSync(B(target), { force: true });
      throw new HodError('EHTTP', `fetching "${url}": ${(err as Error).message}`, { cause: err });
    }
    const o = meta.owner ?? { uid: 0, gid: 0 };
    fs.lchownSync(B(target), o.uid, o.gid);
    fs.chmodSync(B(target), meta.chmod ?? 0o600);
    fs.utimesSync(B(target), mtime, mtime);
  } finally {
    await agent.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// --chown, --chmod

function parseChmod(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(s)) throw new UsageError(`invalid --chmod "${s}": give octal permissions such as 755`);
  return parseInt(s, 8);
}

/**
 * buildah's userForCopy: "uid" alone means uid:uid; "uid:gid" as is; a user name takes its uid and primary gid
 * from the container's /etc/passwd; a group name is looked up in its /etc/group.
 */
export function userForCopy(rootfs: string, spec: string): Owner {
  const i = spec.indexOf(':');
  const user = i < 0 ? spec : spec.slice(0, i);
  const group = i < 0 ? '' : spec.slice(i + 1);
  if (user === '' && group === '') throw new UsageError(`invalid --chown "${spec}": give user[:group]`);
  const num = (s: string): number | undefined => (/^\d+$/.test(s) && Number(s) <= 0xfffffffe ? Number(s) : undefined);
  let uid: number;
  let gid: number | undefined;
  if (user === '') uid = 0;
  else if (num(user) !== undefined) uid = num(user)!;
  else {
    const entry = readDb(rootfs, 'etc/passwd').find((f) => f[0] === user);
    if (!entry || num(entry[2] ?? '') === undefined) throw new HodError('ENOUSER', `--chown: user "${user}" not found in the container's /etc/passwd`);
    uid = num(entry[2])!;
    gid = num(entry[3] ?? '') ?? 0;
  }
  if (group !== '') {
    if (num(group) !== undefined) gid = num(group)!;
    else {
      const entry = readDb(rootfs, 'etc/group').find((f) => f[0] === group);
      if (!entry || num(entry[2] ?? '') === undefined) throw new HodError('ENOUSER', `--chown: group "${group}" not found in the container's /etc/group`);
      gid = num(entry[2])!;
    }
  }
  return { uid, gid: gid ?? uid };
}

/** The colon-separated records of a file in the container (/etc/passwd, /etc/group); none if it is missing. */
function readDb(rootfs: string, file: string): string[][] {
  let text: string;
  try {
    text = fs.readFileSync(safeJoin(rootfs, file, { followFinal: true }), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

// ---------------------------------------------------------------------------------------------------------------
// Exclusions: .dockerignore / .containerignore

interface Pattern {
  negate: boolean;
  mm: Minimatch;
  comps: string[];
}

/**
 * Docker's ignore-file rules (moby/patternmatcher): a path is excluded if the last pattern that matches it or one
 * of its parent directories is not a "!" exception. Patterns are relative to the context; "*" stays within one
 * path component, "**" spans any number.
 */
export class Excluder {
  private readonly patterns: Pattern[];

  constructor(lines: string[]) {
    this.patterns = [];
    for (let line of lines) {
      line = line.trim();
      if (line === '' || line.startsWith('#')) continue;
      let negate = false;
      if (line.startsWith('!')) {
        negate = true;
        line = line.slice(1).trim();
      }
      if (line === '') continue;
      line = path.posix.normalize(line).replace(/^\/+/, '') || '.';
      this.patterns.push({
        negate,
        mm: new Minimatch(line, { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true }),
        comps: line.split('/'),
      });
    }
  }

  /** The exclusions for a copy: the ignore file (or the context's own), then `exclude`. None if empty. */
  static load(src: SourceRoot, opts: AddOptions): Excluder | undefined {
    const lines: string[] = [];
    if (opts.ignoreFile !== undefined) {
      try {
        lines.push(...fs.readFileSync(opts.ignoreFile, 'utf8').split(/\r?\n/));
      } catch (err) {
        throw new HodError('ENOENT', `reading ignore file "${opts.ignoreFile}": ${(err as Error).message}`);
      }
    } else if (src.ctxHost !== undefined) {
      for (const f of ['.containerignore', '.dockerignore']) {
        const p = safeJoin(src.ctxHost, f, { followFinal: true });
        if (fs.existsSync(p)) {
          lines.push(...fs.readFileSync(p, 'utf8').split(/\r?\n/));
          break;
        }
      }
    }
    lines.push(...(opts.exclude ?? []));
    const ex = new Excluder(lines);
    return ex.patterns.length ? ex : undefined;
  }

  excluded(rel: string): boolean {
    const parts = rel.split('/');
    let matched = false;
    for (const p of this.patterns) {
      if (p.negate !== matched) continue; // cannot change the outcome
      let m = p.mm.match(rel);
      for (let i = 1; !m && i < parts.length; i++) m = p.mm.match(parts.slice(0, i).join('/'));
      if (m) matched = !p.negate;
    }
    return matched;
  }

  /** Whether some exception could re-include a path under the excluded directory `rel` (so it must be walked). */
  mayIncludeUnder(rel: string): boolean {
    const dir = rel.split('/');
    return this.patterns.some((p) => {
      if (!p.negate) return false;
      for (let i = 0; i < Math.min(dir.length, p.comps.length); i++) {
        if (p.comps[i] === '**') return true;
        if (!new Minimatch(p.comps[i], { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true }).match(dir[i])) return false;
      }
      return true;
    });
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(B(p));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
