#!/usr/bin/env node
// Metadata verbs: `containers` with 50 containers, `mount` (list), `config`, timed against `node -e 0` and
// buildah in the same run. The target is hod <= 1.3 x node's own start.
//   node bench/verbs.mjs [--runs N]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseArgs, timeIt } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const args = parseArgs(process.argv.slice(2), { runs: '21', work: '/var/tmp/hod-bench-verbs' });
const runs = Number(args.runs);
fs.rmSync(args.work, { recursive: true, force: true });
fs.mkdirSync(args.work, { recursive: true });

const run = (cmd, argv) => execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
const hodArgs = ['--root', path.join(args.work, 'hod')];
const bRoot = path.join(args.work, 'buildah');
const buildahArgs = ['--root', bRoot, '--runroot', `${bRoot}-run`, '--storage-driver', 'overlay'];

const ctrs = { hod: [], buildah: [] };
for (let i = 0; i < 50; i++) {
  ctrs.hod.push(execFileSync(HOD, [...hodArgs, 'from', 'scratch'], { encoding: 'utf8' }).trim());
  ctrs.buildah.push(execFileSync('buildah', [...buildahArgs, 'from', 'scratch'], { encoding: 'utf8' }).trim());
}
for (const t of ['hod', 'buildah']) {
  const cmd = t === 'hod' ? HOD : 'buildah';
  for (const c of ctrs[t].slice(0, 5)) execFileSync(cmd, [...(t === 'hod' ? hodArgs : buildahArgs), 'mount', c]);
}

const cases = {
  containers: (t) => ['containers'],
  mount: (t) => ['mount'],
  config: (t) => ['config', '--env', 'A=1', '--label', 'x=y', ctrs[t][7]],
};

const node = [];
const rows = [];
for (const [name, argv] of Object.entries(cases)) {
  const h = [], b = [];
  for (let i = 0; i < runs; i++) {
    node.push(timeIt(() => run('node', ['-e', '0'])));
    h.push(timeIt(() => run(HOD, [...hodArgs, ...argv('hod')])));
    b.push(timeIt(() => run('buildah', [...buildahArgs, ...argv('buildah')])));
  }
  rows.push({ name, hod: median(h), buildah: median(b) });
}
const n = median(node);

for (const t of ['hod', 'buildah']) {
  const cmd = t === 'hod' ? HOD : 'buildah';
  const a = t === 'hod' ? hodArgs : buildahArgs;
  execFileSync(cmd, [...a, 'rm', '--all'], { stdio: 'ignore' });
}

console.log(`node -e 0: ${(n * 1000).toFixed(1)} ms (median of ${node.length})`);
console.log('verb        hod (ms)  buildah (ms)  hod / node  target');
for (const r of rows) {
  const ratio = r.hod / n;
  console.log(`${r.name.padEnd(10)} ${(r.hod * 1000).toFixed(1).padStart(9)}  ${(r.buildah * 1000).toFixed(1).padStart(12)}  ${ratio.toFixed(2).padStart(10)}  <= 1.3 ${ratio <= 1.3 ? 'ok' : 'MISSED'}`);
}
