/**
 * Path safety: resolving a path inside a root directory the way a chroot would.
 *
 * Everything in hod that turns a name from an image, an archive or a user into a host path under some root
 * (a layer directory, a container rootfs, a build context) goes through here. The rule is the one the kernel
 * applies after chroot(2): each existing symlink met on the way is followed, an absolute link target starts
 * again from root, and `..` can never climb above root. The result is an absolute host path that is
 * guaranteed to be under root, with no symlink left in it except possibly the last component (which is not
 * followed unless asked, like lstat(2) or open(2) with O_NOFOLLOW).
 *
 * With `escapes: 'refuse'` the same walk throws `PathEscapeError` instead wherever the host kernel, which
 * knows nothing about the root, would leave it: an absolute symlink, or `..` above root (in the path itself or
 * in a symlink target). That is what archive extraction wants: a name that only stays inside thanks to the
 * chroot-like reading is hostile.
 *
 * Strings are file names as Node passes them to fs, i.e. UTF-8. With `encoding: 'latin1'` every string
 * (root, path, result) is instead a "byte string", one char per byte, so that names that are not valid UTF-8
 * survive; fs is then called with `Buffer.from(s, 'latin1')`. Use `toByteString`/`fromByteString` to convert.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HodError } from '../errors.js';

/** A path would resolve outside its root. `path` is the name as given, `why` says how. */
export class PathEscapeError extends HodError {
  readonly path: string;
  readonly why: string;
  constructor(p: string, why: string) {
    super('EPATHESCAPE', `path "${p}" escapes its root: ${why}`);
    this.path = p;
    this.why = why;
  }
}

/** The kernel's limit of symlinks followed in one lookup (MAXSYMLINKS), after which it reports ELOOP. */
export const MAX_SYMLINKS = 40;

export type PathEncoding = 'utf8' | 'latin1';

export interface SafeJoinOptions {
  /**
   * Follow a symlink in the last component too, as stat(2)/open(2) would. Default false: the last component is
   * returned as named (like lstat(2), O_NOFOLLOW), so it can be inspected, replaced or removed.
   */
  followFinal?: boolean;
  /**
   * 'contain' (default): chroot semantics, absolute link targets start from root and `..` at root stays there.
   * 'refuse': throw PathEscapeError where chroot and host readings differ (absolute symlink, `..` above root).
   */
  escapes?: 'contain' | 'refuse';
  /** How strings are read: 'utf8' (default, ordinary Node paths) or 'latin1' byte strings (see module doc). */
  encoding?: PathEncoding;
  /**
   * Host paths (in the same encoding) already known to be real directories, not symlinks; they are not
   * lstat'ed again. For callers resolving many paths under one root whose tree they alone change (unpacking);
   * the caller must drop entries when it removes or replaces anything.
   */
  knownDirs?: ReadonlySet<string>;
}

/** A UTF-8 string as a byte string (one char per byte). */
export function toByteString(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string back to an ordinary (UTF-8 decoded) string; invalid sequences become U+FFFD, as in Node's fs. */
export function fromByteString(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** The argument to hand to fs for a path string in `encoding`. */
export function fsPath(p: string, encoding: PathEncoding = 'utf8'): string | Buffer {
  return encoding === 'latin1' ? Buffer.from(p, 'latin1') : p;
}

/** True if `p` is `root` or below it, lexically (both absolute and normalized). */
export function isWithin(root: string, p: string): boolean {
  if (root === '/') return p.startsWith('/');
  return p === root || p.startsWith(root.endsWith('/') ? root : root + '/');
}

/**
 * Split a name relative to some root into clean components, lexically: leading `/` are dropped (names in
 * archives are relative to the extraction root, as tar does), empty and `.` components vanish and `..` removes
 * the previous component. A `..` that would climb above the root throws PathEscapeError. An empty array means
 * the root itself.
 */
export function cleanRelative(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) throw new PathEscapeError(name, '".." climbs above the root');
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

function lstatOrUndefined(p: string | Buffer): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * Resolve `relPath` inside `root` like a chroot would and return the absolute host path, guaranteed to be under
 * root. `relPath` may be absolute (it is read from root) and may contain `..`, which is resolved physically after
 * the symlinks before it, as the kernel does. Components that do not exist are appended as named. See the module
 * doc and SafeJoinOptions. Throws PathEscapeError (only with `escapes: 'refuse'`), or HodError 'ELOOP' after
 * MAX_SYMLINKS symlinks.
 */
export function safeJoin(root: string, relPath: string, opts: SafeJoinOptions = {}): string {
  const enc = opts.encoding ?? 'utf8';
  const refuse = opts.escapes === 'refuse';
  const known = opts.knownDirs;
  const base = enc === 'utf8' ? path.resolve(root) : path.posix.normalize(root).replace(/(.)\/+$/, '$1');
  if (!base.startsWith('/')) throw new HodError('EINVAL', `safeJoin: root must be absolute: ${root}`);
  const prefix = base === '/' ? '' : base;

  const parts: string[] = []; // resolved components under root, none a symlink except maybe the last
  let cur = prefix; // prefix + '/' + parts.join('/'), kept up to date
  const todo = relPath.split('/').reverse(); // components still to walk, next one last
  let links = 0;
  let lastLink: string | undefined; // the last symlink followed, for messages
  let missing = false; // once a component does not exist, nothing after it can be a symlink

  const isFinal = (): boolean => {
    for (let i = todo.length - 1; i >= 0; i--) if (todo[i] !== '' && todo[i] !== '.') return false;
    return true;
  };

  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) {
        if (refuse) {
          const why = lastLink ? `${lastLink} leads above the root` : '".." climbs above the root';
          throw new PathEscapeError(display(relPath, enc), why);
        }
        continue;
      }
      cur = cur.slice(0, cur.length - parts.pop()!.length - 1);
      // Climbing back into a resolved directory: it exists, so later components are looked up again.
      missing = false;
      continue;
    }
    parts.push(c);
    cur += '/' + c;
    if (missing) continue;
    if (!opts.followFinal && isFinal()) break;
    const host = cur;
    if (known?.has(host)) continue;
    const st = lstatOrUndefined(fsPath(host, enc));
    if (st === undefined) {
      missing = true;
      continue;
    }
    if (!st.isSymbolicLink()) continue;
    if (++links > MAX_SYMLINKS) {
      throw new HodError('ELOOP', `too many levels of symbolic links resolving "${display(relPath, enc)}"`);
    }
    const target = fs.readlinkSync(fsPath(host, enc), { encoding: enc }) as string;
    if (target === '') {
      // An empty link resolves to nothing (ENOENT for the kernel); keep it as named, as if missing.
      missing = true;
      continue;
    }
    parts.pop();
    cur = cur.slice(0, cur.length - c.length - 1);
    lastLink = `symlink "${display(parts.concat(c).join('/'), enc)}" -> "${display(target, enc)}"`;
    if (target.startsWith('/')) {
      if (refuse) throw new PathEscapeError(display(relPath, enc), `${lastLink} is absolute`);
      parts.length = 0;
      cur = prefix;
    }
    const tc = target.split('/');
    for (let i = tc.length - 1; i >= 0; i--) todo.push(tc[i]!);
  }
  return parts.length === 0 ? base : cur;
}

function display(s: string, enc: PathEncoding): string {
  return enc === 'latin1' ? fromByteString(s) : s;
}
