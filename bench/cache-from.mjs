#!/usr/bin/env node
// A cold `hod bud` on an empty store (only the base image in it) with `--cache-from REG/cache`, against the
// same build with no cache: what a build pod gains from the steps another pod pushed with `--cache-to`.
// Target cached/uncached <= 0.3. Both are hod: the reference is the uncached build, measured in the same
// run, alternating which goes first. The registry is Debian's docker-registry on 127.0.0.1.
//   node bench/cache-from.mjs [--runs N] [--files 20000] [--keep true]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { busyboxBase, median, parseArgs, startRegistry, timeIt } from './common.mjs';
import { digestSources } from '../dist/lib/builder/source-digest.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOD = path.join(here, '..', 'bin', 'hod');
const args = parseArgs(process.argv.slice(2), { runs: '3', files: '20000', work: '/var/tmp/hod-bench-cache', keep: 'false' });
const runs = Number(args.runs);
fs.rmSync(args.work, { recursive: true, force: true });
fs.mkdirSync(args.work, { recursive: true });
const sh = (cmd, argv) => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).trim();
const hodIn = (root) => (argv) => sh(HOD, ['--root', root, ...argv]);
const TLS = '--tls-verify=false';

/** timeIt for an async function. */
async function timeAsync(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** hod bud in `root`, its stderr lines stamped with seconds since the start: the per-step breakdown. */
function bud(root, extra, ctx) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(HOD, ['--root', root, 'bud', TLS, ...extra, '-t', 'bench-app', ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let out = '';
    let partial = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => {
      const now = (performance.now() - t0) / 1000;
      const parts = (partial + d).split('\n');
      partial = parts.pop();
      for (const text of parts) lines.push({ t: now, text });
    });
    p.on('close', (code) => {
      const secs = (performance.now() - t0) / 1000;
      if (partial) lines.push({ t: secs, text: partial });
      if (code !== 0) reject(new Error(`hod bud ${extra.join(' ')} exited ${code}:\n${lines.map((l) => l.text).join('\n')}`));
      else resolve({ secs, id: out.trim(), lines });
    });
  });
}

/** Seconds from each STEP line to the next (the last to the end), by step number. */
function stepTimes(res) {
  const steps = [];
  res.lines.forEach((l, i) => {
    const m = /^STEP (\d+)\/\d+: (.*)$/.exec(l.text);
    if (m) steps.push({ n: Number(m[1]), text: m[2], t: l.t, i });
  });
  return steps.map((s, k) => ({ ...s, secs: (k + 1 < steps.length ? steps[k + 1].t : res.secs) - s.t }));
}

/** The build id a RUN wrote into the image: a cached build must carry the seeded build's. */
function buildIdOf(root, image) {
  const hod = hodIn(root);
  const c = hod(['from', '--pull', 'never', image]);
  try {
    return fs.readFileSync(path.join(hod(['mount', c]), 'app', 'build-id'), 'utf8');
  } finally {
    hod(['rm', c]);
  }
}

const reg = await startRegistry(args.work);
// every store stays until the end: creating files right after a large delete is up to 10x slower on this disk
const newRoot = (name) => path.join(args.work, name);
try {
  // the base image, made once and pushed: every store pulls the same image id, which the cache keys name
  const baseRef = `${reg.host}/bench/base:1`;
  const baseRoot = newRoot('base');
  await busyboxBase(hodIn(baseRoot), 'bench-base');
  hodIn(baseRoot)(['push', '-q', TLS, 'bench-base', `docker://${baseRef}`]);
  const emptyStore = (name) => {
    const r = newRoot(name);
    hodIn(r)(['pull', '-q', TLS, baseRef]);
    return r;
  };

  // The steps of a typical application image: settings, the sources copied in, a CPU-heavy "compile" that
  // makes an artifact from them (tar + gzip here), a pass reading every file (a checksum list, as a test or
  // lint step would), generated files (as codegen or a package install makes), then more settings. The
  // build-id RUN writes a value no rebuild reproduces and says ran-step-42 on its output (its STEP line shows
  // the unexpanded $((6*7))), so a cached build that runs it is caught.
  const ctx = path.join(args.work, 'ctx');
  sh('node', [path.join(here, '..', '..', 'shared', 'bench', 'gen-workloads.js'), 'tree', path.join(ctx, 'w1'), args.files]);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
    `FROM ${baseRef}`,
    'ENV APP=/app LANG=C.UTF-8',
    'LABEL org.opencontainers.image.title=cache-bench',
    'WORKDIR /app',
    'COPY w1/ /app/src/',
    'RUN tar -cf - -C /app/src . | gzip -6 > /app/src.tar.gz',
    'RUN cd /app/src && find . -type f | sort | xargs sha256sum > /app/SHA256SUMS',
    'RUN mkdir /app/gen && i=0 && while [ $i -lt 2000 ]; do echo "export const m$i = $i;" > /app/gen/m$i.js; i=$((i+1)); done',
    'RUN echo ran-step-$((6*7)) && head -c 16 /dev/urandom | od -An -tx1 > /app/build-id',
    'ARG VERSION=1.0',
    'ENV VERSION=$VERSION',
    'EXPOSE 8080',
    'CMD ["sh"]',
  ].join('\n'));
  const cachedSteps = 12; // every step after FROM
  const cacheRepo = `${reg.host}/cache`;

  // (b) seed once, from its own store
  const seedRoot = emptyStore('seed');
  execFileSync('sync');
  const seed = await bud(seedRoot, ['--cache-to', cacheRepo], ctx);
  const seedBuildId = buildIdOf(seedRoot, seed.id);
  // the final image under a name of its own: pulling it is the floor for what the cached build must move
  const appRef = `${reg.host}/bench/app:1`;
  hodIn(seedRoot)(['push', '-q', TLS, seed.id, `docker://${appRef}`]);

  const t = { uncached: [], cached: [], pull: [], blobs: [], cp: [], hash: [] };
  const steps = { uncached: [], cached: [] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? ['cached', 'uncached'] : ['uncached', 'cached'];
    for (const kind of order) {
      const root = emptyStore(`${kind}-${i}`);
      execFileSync('sync');
      const res = await bud(root, kind === 'cached' ? ['--cache-from', cacheRepo] : ['--no-cache'], ctx);
      const text = res.lines.map((l) => l.text).join('\n');
      const hits = res.lines.filter((l) => l.text.startsWith('--> Using cache')).length;
      const ranRun = res.lines.some((l) => l.text === 'ran-step-42'); // the STEP line itself shows $((6*7))
      const buildId = buildIdOf(root, res.id);
      if (kind === 'cached' && (res.id !== seed.id || hits !== cachedSteps || ranRun || buildId !== seedBuildId)) {
        throw new Error(`run ${i}: the cached build did not take every step from the cache (id ${res.id} vs seeded ${seed.id}, ${hits}/${cachedSteps} hits, RUN ran: ${ranRun}):\n${text}`);
      }
      if (kind === 'uncached' && (hits !== 0 || !ranRun || buildId === seedBuildId)) {
        throw new Error(`run ${i}: the uncached build used a cache (${hits} hits, RUN ran: ${ranRun}):\n${text}`);
      }
      t[kind].push(res.secs);
      steps[kind].push(stepTimes(res));
    }
    // the floor: the final image's blobs pulled (and unpacked, as hod's pull does) into a store with the
    // base, no build at all
    const pr = emptyStore(`pull-${i}`);
    execFileSync('sync');
    t.pull.push(timeIt(() => hodIn(pr)(['pull', '-q', TLS, appRef])));
    // the same blobs with nothing unpacked: skopeo into an OCI layout
    execFileSync('sync');
    t.blobs.push(timeIt(() => sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${appRef}`, `oci:${newRoot(`layout-${i}`)}:app`])));
    // the cache key of the COPY: the context hashed with hod's own code, as an empty store must
    t.hash.push(await timeAsync(() => digestSources(ctx, ['w1/'])));
    // how fast this disk creates files right now (0.7 s when it is well, 6-11 s after a large delete)
    execFileSync('sync');
    t.cp.push(timeIt(() => execFileSync('cp', ['-a', path.join(ctx, 'w1'), newRoot(`cp-${i}`)])));
    console.error(`run ${i}: uncached ${t.uncached[i].toFixed(2)} s, cached ${t.cached[i].toFixed(2)} s, ratio ${(t.cached[i] / t.uncached[i]).toFixed(3)}; ` +
      `pull of the final image ${t.pull[i].toFixed(2)} s, its blobs alone ${t.blobs[i].toFixed(2)} s, context hash ${t.hash[i].toFixed(2)} s, cp -a W1 ${t.cp[i].toFixed(2)} s`);
  }

  console.log(`bud, 13 steps, COPY of W1 (${args.files} files), empty store (medians of ${runs})`);
  console.log(`seed build with --cache-to (once)      ${seed.secs.toFixed(2).padStart(7)} s`);
  const mu = median(t.uncached);
  const mc = median(t.cached);
  console.log(`uncached (--no-cache)                  ${mu.toFixed(2).padStart(7)} s   runs ${t.uncached.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`cached (--cache-from)                  ${mc.toFixed(2).padStart(7)} s   runs ${t.cached.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`cached/uncached                        ${(mc / mu).toFixed(3).padStart(7)}     runs ${t.cached.map((x, k) => (x / t.uncached[k]).toFixed(3)).join(' ')}   target <= 0.3`);
  console.log(`pull of the final image alone          ${median(t.pull).toFixed(2).padStart(7)} s   runs ${t.pull.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`its blobs alone (skopeo to oci:)       ${median(t.blobs).toFixed(2).padStart(7)} s   runs ${t.blobs.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`hash of the context (COPY's key)       ${median(t.hash).toFixed(2).padStart(7)} s   runs ${t.hash.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`cp -a W1 (the disk's state)            ${median(t.cp).toFixed(2).padStart(7)} s   runs ${t.cp.map((x) => x.toFixed(2)).join(' ')}`);
  console.log('per step, medians (s)                   uncached   cached');
  const start = (kind) => median(steps[kind].map((s) => s[0].t));
  console.log(`     start to STEP 1                     ${start('uncached').toFixed(2).padStart(8)} ${start('cached').toFixed(2).padStart(8)}`);
  const n = steps.uncached[0].length;
  for (let k = 0; k < n; k++) {
    const u = median(steps.uncached.map((s) => s[k].secs));
    const c = median(steps.cached.map((s) => s[k].secs));
    console.log(`  ${String(k + 1).padStart(2)} ${steps.uncached[0][k].text.slice(0, 34).padEnd(34)} ${u.toFixed(2).padStart(8)} ${c.toFixed(2).padStart(8)}`);
  }
} finally {
  reg.stop();
  if (args.keep !== 'true') fs.rmSync(args.work, { recursive: true, force: true });
}
