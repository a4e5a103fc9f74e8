import fs from 'node:fs';
import path from 'node:path';
import { HodError } from '../errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when the lock's holder is gone: its pid no longer runs, or the file stayed empty (the holder died
 * between creating and writing it). Pids are only comparable within one pid namespace; hod processes
 * sharing a store share the host's.
 */
function isStale(file: string): boolean {
  let text: string;
  let st: fs.Stats;
  try {
    text = fs.readFileSync(file, 'utf8');
    st = fs.statSync(file);
  } catch {
    return false;
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isFinite(pid) && pid > 0) return pid !== process.pid && !pidAlive(pid);
  return Date.now() - st.mtimeMs > 5000;
}

const held = new Set<string>();

/**
 * An exclusive lock between hod processes: a file created with O_EXCL holding the owner's pid. A holder
 * killed with -9 leaves the file behind; the next taker sees the dead pid and breaks it by rename, so only
 * one taker can win the break.
 */
export function acquireLock(dir: string, name: string, timeoutMs = 120_000): () => void {
  const file = path.join(dir, `${name}.lock`);
  if (held.has(file)) throw new HodError('ELOCK', `lock ${name} is already held by this process`);
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      held.add(file);
      return () => {
        held.delete(file);
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        fs.mkdirSync(dir, { recursive: true });
        continue;
      }
      if (code !== 'EEXIST') throw err;
    }
    if (isStale(file)) {
      const broken = `${file}.broken-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(file, broken);
        fs.rmSync(broken, { force: true });
      } catch {
        // another process broke it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new HodError('ELOCK', `timed out waiting for the store lock ${file}`);
    sleepSync(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

export function withLock<T>(dir: string, name: string, fn: () => T): T {
  const release = acquireLock(dir, name);
  try {
    return fn();
  } finally {
    release();
  }
}
