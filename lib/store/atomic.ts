import fs from 'node:fs';
import path from 'node:path';

/**
 * node:crypto, loaded on first use: it pulls in Node's streams, 3 ms that listing verbs do not need.
 * (An ESM import cannot be deferred; process.getBuiltinModule can.)
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}

/** A unique name under `tmpDir` for staging a write that lands by rename. */
export function tmpName(tmpDir: string, hint = 'tmp'): string {
  // pid + 48 random bits: unique among live writers; Math.random, because loading node:crypto costs 5 ms
  const rand = Math.floor(Math.random() * 2 ** 48).toString(16).padStart(12, '0');
  return path.join(tmpDir, `${hint}-${process.pid}-${rand}`);
}

/**
 * Write a file so that readers see either the old content or the new, never half: write to `tmpDir`
 * (on the same filesystem), fsync, rename over the target.
 */
export function writeFileAtomic(file: string, data: string | Buffer, tmpDir: string, mode = 0o644): void {
  // staged beside the target (a user's auth.json, a layout's index.json), the temp file is a hidden one
  const tmp = tmpName(tmpDir, `${path.resolve(tmpDir) === path.dirname(path.resolve(file)) ? '.' : ''}${path.basename(file)}`);
  // the file is made with its mode (and never existed before): a secret is never readable by others
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readJsonIfExists<T>(file: string): T | undefined {
  try {
    return readJson<T>(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * A write stream on a file opened here, synchronously: fs.createWriteStream opens later, so a pipeline that
 * fails at once can settle before the file exists, and the cleanup that follows misses a file that then appears.
 */
export function fileWriteStream(file: string, mode = 0o644): fs.WriteStream {
  return fs.createWriteStream(file, { fd: fs.openSync(file, 'w', mode) });
}
