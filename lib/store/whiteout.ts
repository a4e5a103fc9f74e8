/**
 * Whiteouts: how a layer says "this path of the layers below is gone".
 *
 * In OCI layer tarballs (image-spec, layer.md "Whiteouts") a deleted path `dir/x` is an entry `dir/.wh.x`, and
 * an opaque directory (all lower content of `dir` hidden, only this layer's entries in it visible) has an entry
 * `dir/.wh..wh..opq`. Other names starting with `.wh..wh.` are reserved (AUFS metadata such as `.wh..wh.plnk`)
 * and never mean a file.
 *
 * Overlayfs (Documentation/filesystems/overlayfs.rst) represents the same on disk in a lower or upper directory:
 * a whiteout is a character device with device number 0:0 named `x`, an opaque directory carries the xattr
 * `trusted.overlay.opaque` = "y" (`user.overlay.opaque` when mounted with `userxattr`). Newer kernels also
 * know xattr-based whiteouts (`trusted.overlay.whiteout` on a zero-size file, inside a directory marked
 * opaque "x"), recognised here too.
 */
import fs from 'node:fs';
import { getXattrs } from './xattr.js';

/** Prefix of a whiteout entry in an OCI layer: `.wh.x` deletes `x`. */
export const WHITEOUT_PREFIX = '.wh.';
/** Prefix of names reserved for whiteout metadata (`.wh..wh.opq`, AUFS's `.wh..wh.plnk`...). */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** The opaque-directory marker of an OCI layer. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

/** Overlayfs: xattr marking a directory opaque, and its value. */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
export const OVERLAY_OPAQUE_VALUE = 'y';
/** Overlayfs with the `userxattr` mount option (rootless) uses the user namespace instead. */
export const OVERLAY_USER_OPAQUE_XATTR = 'user.overlay.opaque';
/** Overlayfs xattr-based whiteout (kernel 6.7+), and the opaque value "x" of a dir that may hold them. */
export const OVERLAY_WHITEOUT_XATTR = 'trusted.overlay.whiteout';
export const OVERLAY_USER_WHITEOUT_XATTR = 'user.overlay.whiteout';
/** Prefix of every xattr overlayfs keeps for itself (opaque, redirect, origin, metacopy...). */
export const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
/** Device number of an overlayfs whiteout (a char device 0:0). */
export const OVERLAY_WHITEOUT_MAJOR = 0;
export const OVERLAY_WHITEOUT_MINOR = 0;

/** `.wh..wh..opq` */
export function isOpaqueMarker(base: string): boolean {
  return base === WHITEOUT_OPAQUE;
}

/** Any name with the whiteout prefix: a whiteout, the opaque marker, or reserved metadata. */
export function hasWhiteoutPrefix(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/** Reserved `.wh..wh.*` metadata other than the opaque marker (e.g. AUFS `.wh..wh.plnk`); to be skipped. */
export function isWhiteoutMeta(base: string): boolean {
  return base.startsWith(WHITEOUT_META_PREFIX) && base !== WHITEOUT_OPAQUE;
}

/**
 * The name a whiteout entry deletes: `.wh.x` -> `x`. Undefined for names that are not a plain whiteout (no prefix,
 * the opaque marker, reserved metadata). Throws nothing; a target of "", "." or ".." is returned as is and the
 * caller must refuse it (see `isValidWhiteoutTarget`).
 */
export function whiteoutTarget(base: string): string | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX) || base.startsWith(WHITEOUT_META_PREFIX)) return undefined;
  return base.slice(WHITEOUT_PREFIX.length);
}

/** A whiteout target must name one entry: not empty, ".", ".." nor contain "/". */
export function isValidWhiteoutTarget(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}

/** The whiteout entry name for a deleted `name` (a basename): `x` -> `.wh.x`. */
export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** Overlayfs whiteout form 1: a character device 0:0. */
export function isOverlayWhiteoutStat(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** Overlayfs whiteout form 2 (kernel 6.7+): a zero-size regular file carrying the overlay.whiteout xattr. */
export function isOverlayXattrWhiteout(st: fs.Stats, xattrs: Readonly<Record<string, Buffer>> | undefined): boolean {
  return st.isFile() && st.size === 0 && xattrs !== undefined &&
    (OVERLAY_WHITEOUT_XATTR in xattrs || OVERLAY_USER_WHITEOUT_XATTR in xattrs);
}

/** Whether an overlay directory's xattrs mark it opaque ("y"). Value "x" only announces xattr whiteouts inside. */
export function isOverlayOpaque(xattrs: Readonly<Record<string, Buffer>> | undefined): boolean {
  if (!xattrs) return false;
  for (const name of [OVERLAY_OPAQUE_XATTR, OVERLAY_USER_OPAQUE_XATTR]) {
    const v = xattrs[name];
    if (v && v.length === 1 && v[0] === 0x79 /* y */) return true;
  }
  return false;
}

/** lstat `p` and tell whether it is an overlayfs (char 0:0) whiteout. */
export function isOverlayWhiteoutPath(p: string | Buffer): boolean {
  try {
    return isOverlayWhiteoutStat(fs.lstatSync(p));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Read a directory's xattrs and tell whether overlayfs sees it as opaque. */
export async function isOverlayOpaqueDir(dir: string): Promise<boolean> {
  return isOverlayOpaque(await getXattrs(dir));
}
