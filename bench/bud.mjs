#!/usr/bin/env node
// `bud` of a 10-step Dockerfile (COPY of the W1 tree of 20,000 files, RUN steps, ENV/LABEL): hod against
// `buildah bud --layers` (overlay, runc), alternated run by run, three ways:
//   cold:    every step built (--no-cache in both, so each run does the whole work)
//   warm:    every step from the cache
//   touched: one file of the tree changed: the steps from its COPY on are built again
// Targets hod/buildah: cold <= 0.6, warm <= 0.2, touched <= 0.6.
//   node bench/bud.mjs [--runs N]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxBase, median, parseArgs, timeIt } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const args = parseArgs(process.argv.slice(2), { runs: '3', work: '/var/tmp/hod-bench-bud' });
const runs = Number(args.runs);
fs.rmSync(args.work, { recursive: true, force: true });
fs.mkdirSync(args.work, { recursive: true });
const sh = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).trim();
const hRoot = path.join(args.work, 'hod');
const hod = (argv) => sh(HOD, ['--root', hRoot, ...argv]);
const bRoot = path.join(args.work, 'buildah');
const buildah = (argv) => sh('buildah', ['--root', bRoot, '--runroot', `${bRoot}-run`, '--storage-driver', 'overlay', ...argv]);

// the same base image in both stores: a static busybox
await busyboxBase(hod, 'bench-base');
sh('skopeo', ['copy', '-q', `oci:${hRoot}:localhost/bench-base:latest`, `containers-storage:[overlay@${bRoot}+${bRoot}-run]localhost/bench-base:latest`]);

const ctx = path.join(args.work, 'ctx');
sh('node', [path.join(here, '..', '..', 'shared', 'bench', 'gen-workloads.js'), 'tree', path.join(ctx, 'w1')]);
fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
  'FROM localhost/bench-base',
  'ENV APP=/app',
  'LABEL bench=bud',
  'WORKDIR /app',
  'COPY w1/ /app/tree/',
  'RUN find /app/tree -type f | wc -l > /app/count',
  'RUN echo built > /app/built',
  'ARG MODE=release',
  'ENV MODE=$MODE DONE=1',
  'CMD ["sh"]',
].join('\n'));
const touchFile = path.join(ctx, 'w1', fs.readdirSync(path.join(ctx, 'w1')).sort()[0]);
const touch = (i) => {
  let f = touchFile;
  while (fs.statSync(f).isDirectory()) f = path.join(f, fs.readdirSync(f).sort()[0]);
  fs.appendFileSync(f, `touched ${i}\n`);
};

const build = (tool, extra) => (tool === 'hod'
  ? hod(['bud', ...extra, '-t', 'bench-app', ctx])
  : buildah(['bud', '--layers', '--runtime', 'runc', ...extra, '-t', 'bench-app', ctx]));

const t = { hod: { cold: [], warm: [], touched: [] }, buildah: { cold: [], warm: [], touched: [] } };
for (let i = 0; i < runs; i++) {
  for (const tool of i % 2 ? ['buildah', 'hod'] : ['hod', 'buildah']) {
    t[tool].cold.push(timeIt(() => build(tool, ['--no-cache'])));
    t[tool].warm.push(timeIt(() => build(tool, [])));
    touch(`${tool}${i}`);
    t[tool].touched.push(timeIt(() => build(tool, [])));
  }
}
sh('bash', ['-c', `buildah --root ${bRoot} --runroot ${bRoot}-run rmi -a -f >/dev/null 2>&1; rm -rf ${args.work}`]);

console.log(`bud, 10 steps, COPY of W1    hod (s)  buildah (s)  hod/buildah  target   (medians of ${runs})`);
for (const [kind, target] of [['cold', 0.6], ['warm', 0.2], ['touched', 0.6]]) {
  const a = median(t.hod[kind]);
  const b = median(t.buildah[kind]);
  console.log(`${kind.padEnd(28)} ${a.toFixed(2).padStart(8)}  ${b.toFixed(2).padStart(11)}  ${(a / b).toFixed(2).padStart(11)}  <= ${target}`);
}
