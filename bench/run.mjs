#!/usr/bin/env node
// `run ctr -- true` through runc: hod against `buildah run --runtime runc` on the same busybox image, with
// `node -e 0` and a bare `runc run` of true for scale, alternated run by run. Target hod/buildah <= 0.4.
//   node bench/run.mjs [--runs N]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseArgs, timeIt } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const args = parseArgs(process.argv.slice(2), { runs: '15', work: '/var/tmp/hod-bench-run' });
const runs = Number(args.runs);
fs.rmSync(args.work, { recursive: true, force: true });
fs.mkdirSync(args.work, { recursive: true });
const sh = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const hod = (argv) => sh(HOD, ['--root', path.join(args.work, 'hod'), ...argv]);
const bRoot = path.join(args.work, 'buildah');
const buildah = (argv) => sh('buildah', ['--root', bRoot, '--runroot', `${bRoot}-run`, '--storage-driver', 'overlay', ...argv]);
const busybox = fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';

// the same tree in both: a static busybox and /bin/sh
function fill(mnt) {
  fs.mkdirSync(path.join(mnt, 'bin'), { recursive: true });
  fs.copyFileSync(busybox, path.join(mnt, 'bin', 'busybox'));
  fs.chmodSync(path.join(mnt, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(mnt, 'bin', 'true'));
}
const h = hod(['from', 'scratch']);
fill(hod(['mount', h]));
const b = buildah(['from', 'scratch']);
fill(buildah(['mount', b]));

const bundle = path.join(args.work, 'bundle');
fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
fill(path.join(bundle, 'rootfs'));
execFileSync('runc', ['spec', '--bundle', bundle]);
const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
spec.process.args = ['/bin/true'];
spec.process.terminal = false;
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));

const t = { hod: [], buildah: [], node: [], runc: [] };
for (let i = 0; i < runs + 1; i++) {
  const order = i % 2 ? ['buildah', 'hod', 'node', 'runc'] : ['hod', 'buildah', 'runc', 'node'];
  for (const tool of order) {
    const s = timeIt(() => {
      if (tool === 'hod') hod(['run', h, '--', '/bin/true']);
      if (tool === 'buildah') buildah(['run', '--runtime', 'runc', b, '--', '/bin/true']);
      if (tool === 'node') sh('node', ['-e', '0']);
      if (tool === 'runc') sh('runc', ['--root', path.join(args.work, 'runc-state'), 'run', '--bundle', bundle, `bench${i}`]);
    });
    if (i > 0) t[tool].push(s); // the first round warms the caches
  }
}
hod(['rm', h]);
buildah(['rm', b]);
sh('bash', ['-c', `buildah --root ${bRoot} --runroot ${bRoot}-run rmi -a -f >/dev/null 2>&1; rm -rf ${args.work}`]);

const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
// the spread: first and third quartiles, and the median of the per-round ratios (hod and buildah ran back to back)
const quart = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
const iqr = (k) => `${quart(t[k], 0.25).toFixed(3)}-${quart(t[k], 0.75).toFixed(3)}`;
const ratios = t.hod.map((h, i) => h / t.buildah[i]);
console.log('run ctr -- true      hod (s)  buildah (s)  hod/buildah  target   node -e 0  runc run');
console.log(`medians of ${String(runs).padEnd(8)} ${m.hod.toFixed(3).padStart(8)}  ${m.buildah.toFixed(3).padStart(11)}  ${(m.hod / m.buildah).toFixed(2).padStart(11)}  <= 0.4   ${m.node.toFixed(3).padStart(9)}  ${m.runc.toFixed(3).padStart(8)}`);
console.log(`quartiles   ${iqr('hod').padStart(15)} ${iqr('buildah').padStart(12)}  ${quart(ratios, 0.25).toFixed(2)}-${quart(ratios, 0.75).toFixed(2)} (round ratios, median ${median(ratios).toFixed(2)})  ${iqr('node')}  ${iqr('runc')}`);
