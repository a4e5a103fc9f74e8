/**
 * Extended attributes and device nodes, the two things Node's fs cannot do, done through the standard tools
 * (package `attr` for getfattr/setfattr, coreutils for mknod) instead of a native addon. Each operation is batched
 * so a whole tree costs one process.
 *
 * Paths are ordinary (UTF-8) strings unless `encoding: 'latin1'` is given, in which case they are byte strings
 * (one char per byte, see pathsafe.ts) and names that are not valid UTF-8 are handled exactly. Batches never put
 * file names on a command line: they go through getfattr's/setfattr's dump format or a shell script on stdin,
 * which carry arbitrary bytes.
 *
 * The dump format (getfattr -d, setfattr --restore) is
 *   # file: <path>
 *   <name>=0x<hex value>
 *   <blank line>
 * where in <path> the bytes \n, \r and \\ are written as a backslash and three octal digits, and in <name> also
 * "=". Everything else, spaces and non-UTF-8 bytes included, is written raw.
 */
import { runTool } from './tool.js';
import { SystemError } from '../errors.js';
import type { PathEncoding } from './pathsafe.js';

/** Attribute name -> raw value. Names are full (`user.x`, `security.capability`, `trusted.overlay.opaque`). */
export type Xattrs = Record<string, Buffer>;

export interface XattrOptions {
  /** How paths (and attribute names) are read and returned; see the module doc. Default 'utf8'. */
  encoding?: PathEncoding;
}

const C_ENV = { LC_ALL: 'C' };
const MAX_BUFFER = 1024 * 1024 * 1024;

/** Undo getfattr's quoting: a backslash followed by three octal digits is that byte. */
export function unescapeDumpName(raw: Buffer): Buffer {
  if (!raw.includes(0x5c)) return raw;
  const out = Buffer.alloc(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x5c && i + 3 < raw.length && isOct(raw[i + 1]) && isOct(raw[i + 2]) && isOct(raw[i + 3])) {
      out[n++] = ((raw[i + 1]! - 48) << 6) | ((raw[i + 2]! - 48) << 3) | (raw[i + 3]! - 48);
      i += 3;
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

function isOct(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 55;
}

/** Quote bytes for the dump format: \n, \r, \\ (and for names `=`) become \ooo. */
export function escapeDumpName(bytes: Buffer, alsoEquals = false): Buffer {
  const parts: number[] = [];
  for (const b of bytes) {
    if (b === 0x0a || b === 0x0d || b === 0x5c || (alsoEquals && b === 0x3d)) {
      parts.push(0x5c, 48 + (b >> 6), 48 + ((b >> 3) & 7), 48 + (b & 7));
    } else if (b === 0) {
      throw new SystemError('xattr: a file or attribute name cannot contain a NUL byte');
    } else parts.push(b);
  }
  return Buffer.from(parts);
}

function decodeName(bytes: Buffer, encoding: PathEncoding): string {
  return bytes.toString(encoding === 'latin1' ? 'latin1' : 'utf8');
}

function encodeName(s: string, encoding: PathEncoding): Buffer {
  return Buffer.from(s, encoding === 'latin1' ? 'latin1' : 'utf8');
}

/**
 * Parse the output of `getfattr -d -e hex` into path -> attributes. Values written as 0x.. (hex), 0s.. (base64)
 * or "..." (text) are all understood; an attribute without "=" has an empty value.
 */
export function parseXattrDump(out: Buffer, opts: XattrOptions = {}): Map<string, Xattrs> {
  const enc = opts.encoding ?? 'utf8';
  const result = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end < 0) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      const p = decodeName(unescapeDumpName(line.subarray(8)), enc);
      current = result.get(p);
      if (!current) {
        current = {};
        result.set(p, current);
      }
      continue;
    }
    if (line[0] === 0x23 /* # */ || current === undefined) continue;
    const eq = line.indexOf(0x3d);
    const name = decodeName(unescapeDumpName(eq < 0 ? line : line.subarray(0, eq)), enc);
    current[name] = eq < 0 ? Buffer.alloc(0) : decodeValue(line.subarray(eq + 1));
  }
  return result;
}

function decodeValue(v: Buffer): Buffer {
  const s = v.toString('latin1');
  if (s.startsWith('0x') || s.startsWith('0X')) return Buffer.from(s.slice(2), 'hex');
  if (s.startsWith('0s') || s.startsWith('0S')) return Buffer.from(s.slice(2), 'base64');
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    return unescapeDumpName(Buffer.from(s.slice(1, -1), 'latin1'));
  }
  return Buffer.from(s, 'latin1');
}

/** Format path -> attributes as a dump that `setfattr --restore` reads. */
export function formatXattrDump(entries: Iterable<readonly [string, Readonly<Xattrs>]>, opts: XattrOptions = {}): Buffer {
  const enc = opts.encoding ?? 'utf8';
  const chunks: Buffer[] = [];
  for (const [p, attrs] of entries) {
    const names = Object.keys(attrs);
    if (names.length === 0) continue;
    chunks.push(Buffer.from('# file: ', 'latin1'), escapeDumpName(encodeName(p, enc)), Buffer.from('\n'));
    for (const name of names) {
      chunks.push(escapeDumpName(encodeName(name, enc), true), Buffer.from('=0x' + attrs[name]!.toString('hex') + '\n', 'latin1'));
    }
    chunks.push(Buffer.from('\n'));
  }
  return Buffer.concat(chunks);
}

/**
 * All extended attributes of every file under `dir` (itself included; symlinks not followed), in one
 * `getfattr -R` run: absolute path -> attributes. Files without attributes are absent. Paths are as getfattr
 * prints them (`dir` resolved with no trailing slash, then names below it).
 */
export async function getXattrsTree(dir: string, opts: XattrOptions = {}): Promise<Map<string, Xattrs>> {
  const enc = opts.encoding ?? 'utf8';
  if (enc === 'latin1' && !isUtf8(Buffer.from(dir, 'latin1'))) {
    throw new SystemError('getXattrsTree: the root directory name must be valid UTF-8');
  }
  const arg = enc === 'latin1' ? Buffer.from(dir, 'latin1').toString('utf8') : dir;
  const res = await runTool('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '-h', '--', arg.replace(/(.)\/+$/, '$1')], { env: C_ENV, maxBuffer: MAX_BUFFER });
  if (res.exitCode !== 0) {
    throw new SystemError(`getfattr -R ${arg} failed: ${res.stderr.toString().trim() || res.shortMessage}`);
  }
  return parseXattrDump(res.stdout, opts);
}

/** The extended attributes of one file (a symlink itself, not its target). Empty if it has none. */
export async function getXattrs(file: string): Promise<Xattrs> {
  const res = await runTool('getfattr', ['-d', '-m', '-', '-e', 'hex', '--absolute-names', '-h', '--', file], { env: C_ENV, maxBuffer: MAX_BUFFER });
  if (res.exitCode !== 0) {
    throw new SystemError(`getfattr ${file} failed: ${res.stderr.toString().trim() || res.shortMessage}`);
  }
  const all = parseXattrDump(res.stdout);
  const first = all.values().next();
  return first.done ? {} : first.value;
}

/** One attribute of one file, or undefined if it does not have it. */
export async function getXattr(file: string, name: string): Promise<Buffer | undefined> {
  const res = await runTool('getfattr', ['-n', name, '-e', 'hex', '--absolute-names', '-h', '--', file], { env: C_ENV });
  if (res.exitCode !== 0) {
    const err = res.stderr.toString();
    if (/No such attribute|No data available/i.test(err)) return undefined;
    throw new SystemError(`getfattr -n ${name} ${file} failed: ${err.trim() || res.shortMessage}`);
  }
  const all = parseXattrDump(res.stdout);
  for (const attrs of all.values()) if (name in attrs) return attrs[name];
  return undefined;
}

/**
 * Set extended attributes on many files in one `setfattr -h --restore=-` run (symlinks themselves are
 * changed, not their targets). Existing attributes not named are left alone. Relative paths are relative to
 * the process's cwd. Throws SystemError naming the failures if any attribute could not be set.
 */
export async function setXattrsMany(entries: Iterable<readonly [string, Readonly<Xattrs>]>, opts: XattrOptions = {}): Promise<void> {
  const input = formatXattrDump(entries, opts);
  if (input.length === 0) return;
  const res = await runTool('setfattr', ['-h', '--restore=-'], { input, env: C_ENV });
  if (res.exitCode !== 0) {
    throw new SystemError(`setfattr failed: ${res.stderr.toString().trim() || res.shortMessage}`);
  }
}

/** Set extended attributes on one file (a symlink itself, not its target). */
export async function setXattrs(file: string, attrs: Readonly<Xattrs>, opts: XattrOptions = {}): Promise<void> {
  await setXattrsMany([[file, attrs]], opts);
}

/** Remove one attribute from a file (a symlink itself); no error if it is absent. */
export async function removeXattr(file: string, name: string): Promise<void> {
  const res = await runTool('setfattr', ['-h', '-x', name, '--', file], { env: C_ENV });
  if (res.exitCode !== 0 && !/No such attribute|No data available/i.test(String(res.stderr))) {
    throw new SystemError(`setfattr -x ${name} ${file} failed: ${String(res.stderr).trim() || res.shortMessage}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Device nodes

export type NodeKind = 'char' | 'block' | 'fifo';

export interface DeviceNode {
  path: string;
  kind: NodeKind;
  /** Device numbers, for char and block devices. */
  major?: number;
  minor?: number;
  /** Permission bits (incl. setuid/setgid/sticky), applied exactly, not filtered by the umask. Default 0o644 (0 for whiteouts). */
  mode?: number;
}

function shQuote(bytes: Buffer): Buffer {
  // Single quotes carry any byte but NUL and ' itself, which becomes '\''.
  const parts: Buffer[] = [Buffer.from("'")];
  let from = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) throw new SystemError('mknod: a file name cannot contain a NUL byte');
    if (bytes[i] === 0x27) {
      parts.push(bytes.subarray(from, i), Buffer.from("'\\''"));
      from = i + 1;
    }
  }
  parts.push(bytes.subarray(from), Buffer.from("'"));
  return Buffer.concat(parts);
}

function checkNumber(what: string, n: number | undefined): number {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SystemError(`mknod: invalid ${what} ${n}`);
  return v;
}

/**
 * Create device nodes and fifos with the `mknod` command: all of them in one `sh` run fed a script on stdin (no
 * file name ever goes on a command line). Nodes are created in order; the parents must exist, the paths must not.
 * Modes are exact. Ownership and times are the caller's business (fs.lchownSync / fs.lutimesSync work on nodes).
 */
export async function mknodMany(nodes: readonly DeviceNode[], opts: XattrOptions = {}): Promise<void> {
  if (nodes.length === 0) return;
  const enc = opts.encoding ?? 'utf8';
  const lines: Buffer[] = [Buffer.from('set -e\n')];
  for (const n of nodes) {
    const mode = n.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new SystemError(`mknod: invalid mode ${n.mode}`);
    let typeArgs: string;
    if (n.kind === 'fifo') typeArgs = 'p';
    else if (n.kind === 'char' || n.kind === 'block') {
      typeArgs = `${n.kind === 'char' ? 'c' : 'b'} ${checkNumber('major', n.major)} ${checkNumber('minor', n.minor)}`;
    } else throw new SystemError(`mknod: unknown node kind ${String(n.kind)}`);
    const quoted = shQuote(encodeName(n.path, enc));
    // mknod -m takes permission bits only; setuid/setgid/sticky need a chmod after.
    lines.push(Buffer.from(`mknod -m ${(mode & 0o777).toString(8).padStart(4, '0')} -- `), quoted, Buffer.from(` ${typeArgs}\n`));
    if (mode & 0o7000) lines.push(Buffer.from(`chmod ${mode.toString(8).padStart(4, '0')} -- `), quoted, Buffer.from('\n'));
  }
  const res = await runTool('sh', ['-s'], { input: Buffer.concat(lines), env: C_ENV });
  if (res.exitCode !== 0) {
    throw new SystemError(`mknod failed: ${String(res.stderr).trim() || res.shortMessage}`);
  }
}

/** Create one device node or fifo. */
export async function mknod(node: DeviceNode, opts: XattrOptions = {}): Promise<void> {
  await mknodMany([node], opts);
}

/** Create overlayfs whiteouts (char devices 0:0, mode 0) at each path, in one batch. */
export async function mkWhiteouts(paths: readonly string[], opts: XattrOptions = {}): Promise<void> {
  await mknodMany(paths.map((p) => ({ path: p, kind: 'char' as const, major: 0, minor: 0, mode: 0 })), opts);
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
