import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOD = path.join(REPO, 'bin', 'hod');

/** A fresh store root under /tmp, removed (after unmounting anything left mounted) by `cleanup`. */
export function tempRoot(prefix = 'hod-test-'): { root: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    root,
    cleanup: () => {
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(root + '/'));
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface HodResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run bin/hod as a user would, in its own process. */
export function hod(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): HodResult {
  const r = spawnSync(HOD, ['--root', root, ...args], { encoding: 'utf8', env: { ...process.env, ...opts.env }, input: opts.input, cwd: opts.cwd });
  return { status: r.status ?? -1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Run bin/hod and insist on success; returns stdout. */
export function hodOk(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const r = hod(root, args, opts);
  if (r.status !== 0) throw new Error(`hod ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function sh(cmd: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, ...opts.env } }).trim();
}

export const BUSYBOX = fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';

/** Make localhost/busybox:1 from the host's static busybox in `root`; returns the image id. */
export function makeBusybox(root: string, name = 'busybox:1'): string {
  const ctr = hodOk(root, ['from', 'scratch']);
  const mnt = hodOk(root, ['mount', ctr]);
  fs.mkdirSync(path.join(mnt, 'bin'));
  fs.copyFileSync(BUSYBOX, path.join(mnt, 'bin', 'busybox'));
  fs.chmodSync(path.join(mnt, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(mnt, 'bin', 'sh'));
  hodOk(root, ['config', '--entrypoint', '["/bin/sh"]', '--env', 'PATH=/bin', ctr]);
  return hodOk(root, ['commit', '--rm', ctr, name]);
}
