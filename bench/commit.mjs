#!/usr/bin/env node
// Commit benchmark: hod and buildah side by side on the shared workloads, runs alternated because the
// disk slows down after large deletes. Prints medians and the hod/buildah ratio per case.
//   node bench/commit.mjs [--runs N] [--only w1-gzip,w1-plain,w2-gzip]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseArgs, timeIt } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const GEN = path.join(here, '..', '..', 'shared', 'bench', 'gen-workloads.js');
const args = parseArgs(process.argv.slice(2), { runs: '3', only: 'w1-gzip,w1-plain,w2-gzip', work: '/var/tmp/hod-bench' });
const runs = Number(args.runs);
fs.mkdirSync(args.work, { recursive: true });

const CASES = {
  'w1-gzip': { workload: 'tree', flags: [], target: 0.5 },
  'w1-plain': { workload: 'tree', flags: ['--disable-compression'], target: 0.25 },
  'w2-gzip': { workload: 'large', flags: [], target: 0.85 },
};

function workload(kind) {
  const dir = path.join(args.work, kind === 'tree' ? 'w1' : 'w2');
  if (!fs.existsSync(path.join(dir, '.done'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync('node', [GEN, kind, dir], { stdio: 'inherit' });
    fs.writeFileSync(path.join(dir, '.done'), '');
  }
  return dir;
}

const sh = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const tools = {
  hod: {
    root: path.join(args.work, 'hod-root'),
    run(argv) { return sh(HOD, ['--root', this.root, ...argv]); },
    // hod deletes big trees in the background (lib/store/discard.ts): let the last run's finish first, as
    // buildah's deletes finish before its next step
    settle() {
      const tmp = path.join(this.root, 'tmp');
      while (fs.existsSync(tmp) && fs.readdirSync(tmp).some((n) => n.startsWith('trash-'))) execFileSync('sleep', ['0.05']);
    },
  },
  buildah: {
    root: path.join(args.work, 'buildah-root'),
    run(argv) {
      return sh('buildah', ['--root', this.root, '--runroot', `${this.root}-run`, '--storage-driver', 'overlay', ...argv]);
    },
  },
};

// One measured commit: from scratch, mount, cp -a the workload (not timed), commit (timed), then clean up.
function once(tool, src, flags) {
  const ctr = tool.run(['from', 'scratch']);
  const mnt = tool.run(['mount', ctr]);
  execFileSync('cp', ['-a', `${src}/.`, mnt]);
  tool.settle?.();
  execFileSync('sync');
  const secs = timeIt(() => tool.run(['commit', ...flags, ctr, 'bench:1']));
  tool.run(['rm', ctr]);
  tool.run(['rmi', 'bench:1']);
  return secs;
}

const rows = [];
for (const name of args.only.split(',')) {
  const c = CASES[name];
  if (!c) throw new Error(`unknown case ${name}`);
  const src = workload(c.workload);
  const times = { hod: [], buildah: [] };
  for (let i = 0; i < runs; i++) {
    for (const t of i % 2 ? ['buildah', 'hod'] : ['hod', 'buildah']) times[t].push(once(tools[t], src, c.flags));
  }
  const h = median(times.hod), b = median(times.buildah);
  rows.push({ case: name, hod: h, buildah: b, ratio: h / b, target: c.target });
  console.error(`${name}: hod ${times.hod.map((s) => s.toFixed(2)).join(' ')}  buildah ${times.buildah.map((s) => s.toFixed(2)).join(' ')}`);
}

console.log('case       hod (s)  buildah (s)  hod/buildah  target');
for (const r of rows) {
  const ok = r.ratio <= r.target ? 'ok' : 'MISSED';
  console.log(`${r.case.padEnd(10)} ${r.hod.toFixed(2).padStart(7)}  ${r.buildah.toFixed(2).padStart(11)}  ${r.ratio.toFixed(2).padStart(11)}  <= ${r.target} ${ok}`);
}
