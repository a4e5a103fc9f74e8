import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
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

/** A file of an image's root filesystem, read through a container made for it and removed after. */
export function readFromImage(root: string, image: string, file: string): string {
  const c = hodOk(root, ['from', image]);
  try {
    return fs.readFileSync(path.join(hodOk(root, ['mount', c]), file), 'utf8');
  } finally {
    hodOk(root, ['rm', c]);
  }
}

/** Like `hod`, without blocking the event loop: for tests that serve HTTP from this process. */
export function hodAsync(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<HodResult> {
  return new Promise((resolve) => {
    const child = spawn(HOD, ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

/** Every entry of a tree with type, mode, owner, size and content hash, link target, device, mtime and xattrs. */
export function describeTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const inodes = new Map<number, string>();
  const xattrs = new Map<string, string>();
  for (const block of sh(`getfattr -R -d -m - -e hex --absolute-names -h '${root}' 2>/dev/null || true`).split('\n\n')) {
    const lines = block.trim().split('\n');
    if (!lines[0]?.startsWith('# file: ')) continue;
    xattrs.set(lines[0].slice(8), lines.slice(1).filter((l) => !l.startsWith('trusted.overlay')).sort().join(','));
  }
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isFile()) {
        const first = inodes.get(st.ino);
        if (st.nlink > 1 && first) what += ` hardlink-of ${first}`;
        else what += ` ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex').slice(0, 16)}`;
        if (st.nlink > 1 && !first) inodes.set(st.ino, r);
      }
      if (st.isSymbolicLink()) what += ` -> ${fs.readlinkSync(abs)}`;
      if (st.isCharacterDevice() || st.isBlockDevice()) what += ` dev ${st.rdev}`;
      if (!st.isDirectory()) what += ` mtime ${Math.floor(st.mtimeMs / 1000)}`;
      what += ` xattrs ${xattrs.get(abs) ?? ''}`;
      out.set(r, what);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
