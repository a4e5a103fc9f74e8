import fs from 'node:fs';
import path from 'node:path';
import { tmpName } from './atomic.js';
import type { StorePaths } from './paths.js';

const TRASH = 'trash';
/** A trash entry this old with nobody deleting it was left by a killed or cut-short `rm`. */
const STALE_MS = 60_000;

/**
 * Remove a directory tree without making the user wait: it is renamed into tmp/ (the same filesystem, so it
 * leaves its place at once) and a detached `rm -rf` deletes it while hod exits. Deleting a tree of 20,000
 * files takes 1-2 s here; a commit whose layer already exists, or `hod rm` of a big container, would pay it.
 */
export function discardTree(paths: StorePaths, dir: string): void {
  const trash = tmpName(paths.tmp, TRASH);
  try {
    fs.renameSync(dir, trash);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  removeDetached(trash);
}

function removeDetached(trash: string): void {
  const { spawn } = process.getBuiltinModule('node:child_process');
  spawn('rm', ['-rf', '--', trash], { detached: true, stdio: 'ignore' }).unref();
}

/** Whether a tmp/ entry is a trashed tree; one that nobody has been deleting for a while is handed to rm again. */
export function isTrash(tmpDir: string, name: string, staleMs = STALE_MS): boolean {
  if (!name.startsWith(`${TRASH}-`)) return false;
  const p = path.join(tmpDir, name);
  try {
    if (Date.now() - fs.lstatSync(p).ctimeMs >= staleMs) removeDetached(p);
  } catch {
    // already gone
  }
  return true;
}
