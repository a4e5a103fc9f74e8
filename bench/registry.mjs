#!/usr/bin/env node
// Push and pull benchmark against Debian's distribution registry on 127.0.0.1: hod vs buildah (and skopeo
// copy oci: -> docker:// for push), W1 and W2 images, cold (an empty registry or store) and warm (every blob
// already there). Each tool gets its own registry so no tool finds another's blobs.
//   node bench/registry.mjs [--runs N] [--only w1,w2]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, parseArgs, startRegistry, timeIt } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const GEN = path.join(here, '..', '..', 'shared', 'bench', 'gen-workloads.js');
const args = parseArgs(process.argv.slice(2), { runs: '3', only: 'w1,w2', work: '/var/tmp/hod-bench-registry' });
const runs = Number(args.runs);
fs.mkdirSync(args.work, { recursive: true });

const sh = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const hod = (root, argv) => sh(HOD, ['--root', root, ...argv]);
const buildah = (root, argv) => sh('buildah', ['--root', root, '--runroot', `${root}-run`, '--storage-driver', 'overlay', ...argv]);

function workload(kind) {
  const dir = path.join('/var/tmp/hod-bench', kind === 'w1' ? 'w1' : 'w2');
  if (!fs.existsSync(path.join(dir, '.done'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync('node', [GEN, kind === 'w1' ? 'tree' : 'large', dir], { stdio: 'inherit' });
    fs.writeFileSync(path.join(dir, '.done'), '');
  }
  return dir;
}

/** The workload committed as bench:<kind> in a hod store and a buildah store, and as an OCI layout for skopeo. */
function images(kind) {
  const src = workload(kind);
  const roots = { hod: path.join(args.work, `hod-${kind}`), buildah: path.join(args.work, `buildah-${kind}`), layout: path.join(args.work, `layout-${kind}`) };
  if (!fs.existsSync(path.join(roots.hod, '.done'))) {
    for (const r of Object.values(roots)) fs.rmSync(r, { recursive: true, force: true });
    const c = hod(roots.hod, ['from', 'scratch']);
    execFileSync('cp', ['-a', `${src}/.`, hod(roots.hod, ['mount', c])]);
    hod(roots.hod, ['commit', '--rm', c, `bench:${kind}`]);
    const b = buildah(roots.buildah, ['from', 'scratch']);
    execFileSync('cp', ['-a', `${src}/.`, buildah(roots.buildah, ['mount', b])]);
    buildah(roots.buildah, ['commit', '--rm', b, `bench:${kind}`]);
    hod(roots.hod, ['push', '-q', `bench:${kind}`, `oci:${roots.layout}:bench`]);
    fs.writeFileSync(path.join(roots.hod, '.done'), '');
  }
  return roots;
}

const rows = [];
const pullRoots = [];
for (const kind of args.only.split(',')) {
  const roots = images(kind);
  const t = { hodCold: [], buildahCold: [], skopeoCold: [], hodWarm: [], buildahWarm: [], hodPull: [], buildahPull: [] };
  for (let i = 0; i < runs; i++) {
    const regs = { hod: await startRegistry(args.work), buildah: await startRegistry(args.work), skopeo: await startRegistry(args.work) };
    try {
      const order = i % 2 ? ['buildah', 'skopeo', 'hod'] : ['hod', 'buildah', 'skopeo'];
      for (const tool of order) {
        const dest = `${regs[tool].host}/bench/${kind}:1`;
        if (tool === 'hod') t.hodCold.push(timeIt(() => hod(roots.hod, ['push', '-q', '--tls-verify=false', `bench:${kind}`, `docker://${dest}`])));
        if (tool === 'buildah') t.buildahCold.push(timeIt(() => buildah(roots.buildah, ['push', '-q', '--tls-verify=false', `bench:${kind}`, `docker://${dest}`])));
        if (tool === 'skopeo') t.skopeoCold.push(timeIt(() => sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${roots.layout}:bench`, `docker://${dest}`])));
      }
      t.hodWarm.push(timeIt(() => hod(roots.hod, ['push', '-q', '--tls-verify=false', `bench:${kind}`, `docker://${regs.hod.host}/bench/${kind}:1`])));
      t.buildahWarm.push(timeIt(() => buildah(roots.buildah, ['push', '-q', '--tls-verify=false', `bench:${kind}`, `docker://${regs.buildah.host}/bench/${kind}:1`])));
      for (const tool of order.filter((x) => x !== 'skopeo')) {
        // a fresh root per run, deleted only at the end: creating files right after a large delete is up to
        // 10x slower on this disk, which would measure the delete, not the pull
        // named for this process: a killed run's roots would hold the image already
        const root = path.join(args.work, `pull-${process.pid}-${tool}-${kind}-${i}`);
        pullRoots.push(root);
        execFileSync('sync');
        const ref = `${regs[tool].host}/bench/${kind}:1`;
        if (tool === 'hod') t.hodPull.push(timeIt(() => hod(root, ['pull', '-q', '--tls-verify=false', ref])));
        else t.buildahPull.push(timeIt(() => buildah(root, ['pull', '-q', '--tls-verify=false', ref])));
      }
    } finally {
      for (const r of Object.values(regs)) r.stop();
    }
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  console.error(kind, JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.map((x) => x.toFixed(2))]))));
  rows.push([`${kind} push cold`, m.hodCold, m.buildahCold, m.hodCold / m.buildahCold, '<= 0.3', m.hodCold / m.skopeoCold, '<= 1.1 x skopeo']);
  rows.push([`${kind} push warm`, m.hodWarm, m.buildahWarm, m.hodWarm / m.buildahWarm, '', undefined, '']);
  rows.push([`${kind} pull cold`, m.hodPull, m.buildahPull, m.hodPull / m.buildahPull, '<= 0.4', undefined, '']);
}

for (const root of pullRoots) sh('bash', ['-c', `buildah --root ${root} --runroot ${root}-run rmi -a -f >/dev/null 2>&1; rm -rf ${root} ${root}-run`]);

console.log('case             hod (s)  buildah (s)  hod/buildah  target   hod/skopeo');
for (const [name, h, b, ratio, target, sk, skTarget] of rows) {
  console.log(`${name.padEnd(15)} ${h.toFixed(2).padStart(8)}  ${b.toFixed(2).padStart(11)}  ${ratio.toFixed(2).padStart(11)}  ${target.padEnd(7)}  ${sk === undefined ? '' : `${sk.toFixed(2)} ${skTarget}`}`);
}
