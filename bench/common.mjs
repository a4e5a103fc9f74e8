// Shared bits of the benchmark scripts: flag parsing, timing, medians.
import { performance } from 'node:perf_hooks';

export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown argument ${argv[i]}; known: ${Object.keys(defaults).join(', ')}`);
    out[m[1]] = m[2] ?? argv[++i];
  }
  return out;
}

export function timeIt(fn) {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Debian's distribution registry (`docker-registry`) on a free port of 127.0.0.1, its storage under a fresh
 * directory of `workDir`; resolves once /v2/ answers. stop() kills it and deletes its storage.
 */
export async function startRegistry(workDir) {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const net = await import('node:net');
  const path = await import('node:path');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(workDir, 'reg-'));
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: 127.0.0.1:${port} }\n`);
  const proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { host: `127.0.0.1:${port}`, stop: () => { proc.kill(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * A one-file base image from the host's static busybox (/bin/busybox, /bin/sh -> busybox, PATH=/bin),
 * committed as `name` by `hod(argv)` (hod with its --root already given).
 */
export async function busyboxBase(hod, name) {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const busybox = fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
  const c = hod(['from', 'scratch']);
  const mnt = hod(['mount', c]);
  fs.mkdirSync(path.join(mnt, 'bin'));
  fs.copyFileSync(busybox, path.join(mnt, 'bin', 'busybox'));
  fs.chmodSync(path.join(mnt, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(mnt, 'bin', 'sh'));
  hod(['config', '--env', 'PATH=/bin', c]);
  hod(['commit', '--rm', c, name]);
}
