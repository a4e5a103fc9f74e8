/**
 * The Dockerfile conformance suite: every case of cases.ts is built by `buildah bud --layers` and by
 * `hod bud --layers` from one generated context, and the two images are compared: the run-time config fields,
 * the author, the numbers of layers and history entries, and a listing of the root filesystem (type, mode,
 * owner, size, link target, content hash; no times). A failure case must fail in both tools, hod naming
 * `Dockerfile:LINE`.
 *
 * Needs root, buildah (1.28 is what the cases were checked against), skopeo and runc; skipped without buildah.
 * Run it alone with `npx tsc -p . && npx mocha dist/test/conformance/*.test.js` (about 3 minutes for 73 cases).
 *
 * HOD_CONFORMANCE_SELFTEST=1 puts buildah on both sides (two separate buildah storages): the way to check that
 * every case builds with buildah and that the comparison finds no difference between two equal builds. In that
 * mode a failure case checks that both sides fail and that buildah's message matches `buildahFail`; hod's
 * `Dockerfile:LINE` is not checked (buildah's messages do not name the line).
 *
 * HOD_CONFORMANCE_SELFTEST=copy checks the hod half of the harness the same way: the "hod" side is buildah
 * again, but each image it builds is copied by skopeo into the hod store and read back from there, by the same
 * code (index.json, `hod from`, `hod mount`) that reads what hod bud builds.
 *
 * HOD_CONFORMANCE_GREP=text runs only the cases whose name contains `text` (mocha's --grep works too).
 * HOD_CONFORMANCE_SHOW=1 prints what buildah made of each case (config, counts, the files the base does not have).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { cases, type Case } from './cases.js';
import {
  buildah, buildahArgs, buildahImage, buildahOk, diffImages, diffTrees, hodImage, listTree, partition,
  showEntry, type BuildahStore, type Difference, type FileEntry, type ImageSummary, type KnownDifference,
} from './compare.js';

const SELFTEST_MODE = process.env.HOD_CONFORMANCE_SELFTEST;
const SELFTEST = SELFTEST_MODE === '1' || SELFTEST_MODE === 'copy';
const SHOW = process.env.HOD_CONFORMANCE_SHOW === '1';

/**
 * Differences the whole suite expects between hod and buildah, whatever the case. Each one that applies is
 * printed under its case, so none is silent.
 */
const SUITE_KNOWN: KnownDifference[] = [
  { field: 'Labels.io.buildah.version', why: 'buildah stamps its own version on every image it builds' },
  // buildah leaves the mount points of a RUN in the layer: empty /etc/hosts, /etc/hostname, /etc/resolv.conf
  // (bind-mounted by buildah) and /dev, /proc, /sys, /run (runc's). hod binds its generated /etc files from
  // outside the root filesystem (lib/run/run.ts) so they never reach a commit.
  ...['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev', '/proc', '/sys', '/run'].map((p) => ({
    field: `file:${p}`,
    why: 'mount point that buildah (runc) leaves behind after RUN',
    exact: true,
  })),
  { field: 'file:/etc', why: 'directory buildah makes for the /etc/hosts mount point after RUN', exact: true },
];

interface Output {
  status: number;
  stdout: string;
  stderr: string;
}

/** One of the two tools under comparison, with its own store. */
interface Side {
  label: string;
  build(args: string[]): Output;
  image(tag: string): ImageSummary;
  /** The image's root filesystem; `tmp` is a scratch directory of the case. */
  tree(tag: string, img: ImageSummary, tmp: string): Map<string, FileEntry>;
}

/**
 * `buildah from` runs an image's ONBUILD triggers (it fails on ONBUILD RUN), so buildah's image that has
 * triggers is instead pushed to an OCI layout and unpacked by umoci.
 */
function unpackWithUmoci(layout: string, ref: string, tmp: string): Map<string, FileEntry> {
  const bundle = path.join(tmp, `bundle-${fs.readdirSync(tmp).length}`);
  sh(`umoci unpack --image '${layout}:${ref}' '${bundle}' >/dev/null`);
  return listTree(path.join(bundle, 'rootfs'));
}

function buildahSide(label: string, store: BuildahStore): Side {
  return {
    label,
    build: (args) => buildah(store, ['bud', '--layers', ...args]),
    image: (tag) => buildahImage(store, `localhost/${tag}:latest`),
    tree: (tag, img, tmp) => {
      if (img.config.OnBuild !== null) {
        const layout = path.join(tmp, `oci-${label.replace(/\W/g, '')}`);
        buildahOk(store, ['push', '--quiet', `localhost/${tag}:latest`, `oci:${layout}:${tag}`]);
        return unpackWithUmoci(layout, tag, tmp);
      }
      const ctr = buildahOk(store, ['from', '--pull=never', `localhost/${tag}:latest`]);
      try {
        return listTree(buildahOk(store, ['mount', ctr]));
      } finally {
        buildahOk(store, ['rm', ctr]);
      }
    },
  };
}

function hodSide(root: string): Side {
  return {
    label: 'hod',
    build: (args) => hod(root, ['bud', '--layers', ...args]),
    image: (tag) => hodImage(root, tag),
    // hod from runs no ONBUILD triggers (only bud does), so an image with triggers is read the same way
    tree: (tag) => {
      const ctr = hodOk(root, ['from', `localhost/${tag}:latest`]);
      try {
        return listTree(hodOk(root, ['mount', ctr]));
      } finally {
        hodOk(root, ['rm', ctr]);
      }
    },
  };
}

/** HOD_CONFORMANCE_SELFTEST=copy: buildah builds, and the result is read from the hod store it is copied into. */
function copiedSide(store: BuildahStore, hodRoot: string): Side {
  const inner = buildahSide('buildah', store);
  const reader = hodSide(hodRoot);
  return {
    label: 'buildah(copied to hod store)',
    build: (args) => {
      const o = inner.build(args);
      if (o.status === 0) {
        const tag = args[args.indexOf('-t') + 1];
        sh(`skopeo copy --quiet 'containers-storage:[vfs@${store.root}+${store.runroot}]localhost/${tag}:latest' 'oci:${hodRoot}:localhost/${tag}:latest'`);
      }
      return o;
    },
    image: reader.image,
    tree: reader.tree,
  };
}

/** Write a case's context: CASEDIR/Dockerfile, CASEDIR/ctx/…, files beside ctx for `outside`. */
function makeContext(dir: string, c: Case): { dockerfile: string; ctx: string } {
  const ctx = path.join(dir, 'ctx');
  fs.mkdirSync(ctx, { recursive: true });
  for (const [rel, f] of Object.entries(c.files ?? {})) {
    const abs = path.join(ctx, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const { content, mode } = typeof f === 'string' ? { content: f, mode: 0o644 } : f;
    fs.writeFileSync(abs, content);
    fs.chmodSync(abs, mode);
  }
  for (const [rel, content] of Object.entries(c.outside ?? {})) fs.writeFileSync(path.join(dir, rel), content);
  if (c.ignore !== undefined) fs.writeFileSync(path.join(ctx, '.dockerignore'), c.ignore);
  if (c.setup) sh(c.setup, { cwd: ctx });
  const dockerfile = path.join(dir, 'Dockerfile');
  fs.writeFileSync(dockerfile, c.dockerfile);
  if (c.pre) fs.writeFileSync(path.join(dir, 'Dockerfile.pre'), c.pre.dockerfile);
  return { dockerfile, ctx };
}

function budArgs(tag: string, dockerfile: string, ctx: string, c: { buildArgs?: Record<string, string>; target?: string; format?: 'docker' }): string[] {
  const args = ['-t', tag, '-f', dockerfile];
  for (const [k, v] of Object.entries(c.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (c.target) args.push('--target', c.target);
  if (c.format) args.push('--format', c.format);
  return [...args, ctx];
}

const tail = (o: Output) => `exit ${o.status}\n--- stderr (tail) ---\n${o.stderr.split('\n').slice(-25).join('\n')}\n--- stdout (tail) ---\n${o.stdout.split('\n').slice(-5).join('\n')}`;

/** The build succeeded and its last line of stdout is the id of the image it tagged. */
function expectBuilt(side: Side, o: Output, tag: string): ImageSummary {
  if (o.status !== 0) expect.fail(`${side.label} bud failed: ${tail(o)}`);
  const img = side.image(tag);
  const last = o.stdout.split('\n').pop() ?? '';
  expect(last, `${side.label}: the last line of stdout is the image id`).to.match(/^[0-9a-f]{64}$/);
  expect(last, `${side.label}: the printed id is that of the tagged image`).to.equal(img.id);
  return img;
}

/** HOD_CONFORMANCE_SHOW=1: buildah's result, for whoever is making hod agree with it. */
function show(img: ImageSummary, tree: Map<string, FileEntry>): void {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(img.config)) if (v !== null) lines.push(`${k}: ${JSON.stringify(v)}`);
  if (img.author) lines.push(`Author: ${JSON.stringify(img.author)}`);
  lines.push(`layers ${img.layers}, history ${img.history} (${img.nonEmptyHistory} non-empty)`);
  for (const [p, e] of tree) if (p !== '/bin' && p !== '/bin/sh' && p !== '/bin/busybox') lines.push(`${p}  ${showEntry(e)}`);
  console.log(lines.map((l) => `      | ${l}`).join('\n'));
}

describe('conformance: hod bud vs buildah bud', function () {
  this.timeout(600_000);
  let work: { root: string; cleanup: () => void };
  let ref: Side;
  let sut: Side;

  before(() => {
    // the oracle is part of the set-up, not optional
    if (spawnSync('buildah', ['--version']).status !== 0) throw new Error('buildah is not installed: run scripts/setup.sh');
    work = tempRoot('hod-conformance-');
    const hodRoot = path.join(work.root, 'hod');
    fs.mkdirSync(hodRoot);
    makeBusybox(hodRoot, 'busybox:1');
    const stores: BuildahStore[] = ['buildah', 'buildah2'].map((d) => ({ root: path.join(work.root, d, 'storage'), runroot: path.join(work.root, d, 'runroot') }));
    for (const s of SELFTEST ? stores : stores.slice(0, 1)) {
      const dest = `containers-storage:[vfs@${s.root}+${s.runroot}]localhost/busybox:1`;
      sh(`skopeo copy --quiet 'oci:${hodRoot}:localhost/busybox:1' '${dest}'`);
    }
    ref = buildahSide('buildah', stores[0]);
    if (SELFTEST_MODE === 'copy') sut = copiedSide(stores[1], hodRoot);
    else if (SELFTEST) sut = buildahSide('buildah(selftest)', stores[1]);
    else sut = hodSide(hodRoot);
    if (SELFTEST) console.log(`    HOD_CONFORMANCE_SELFTEST=${SELFTEST_MODE}: both sides are buildah (${buildahArgs(stores[1], []).join(' ')})`);
  });

  after(function () {
    work?.cleanup();
  });

  const grep = process.env.HOD_CONFORMANCE_GREP;
  cases.forEach((c, i) => {
    if (grep && !c.name.includes(grep)) return;
    it(c.name, function () {
      if (SELFTEST_MODE === 'copy' && (c.format === 'docker' || c.pre?.format === 'docker')) {
        console.log('      (skipped with HOD_CONFORMANCE_SELFTEST=copy: skopeo makes a Docker-format image OCI on its way into the hod store)');
        this.skip();
      }
      const dir = path.join(work.root, 'cases', String(i));
      const { dockerfile, ctx } = makeContext(dir, c);
      const tag = `conformance-${i}`;

      if (c.pre) {
        const preFile = path.join(dir, 'Dockerfile.pre');
        for (const side of [ref, sut]) expectBuilt(side, side.build(budArgs(c.pre.name, preFile, ctx, c.pre)), c.pre.name);
      }

      const r = ref.build(budArgs(tag, dockerfile, ctx, c));
      const s = sut.build(budArgs(tag, dockerfile, ctx, c));

      if (c.expectFail) {
        if (r.status === 0) expect.fail(`buildah was expected to fail but built the image: ${tail(r)}`);
        if (c.buildahFail) expect(r.stderr + r.stdout, "buildah's message").to.match(c.buildahFail);
        if (s.status === 0) expect.fail(`${sut.label} was expected to fail but built the image: ${tail(s)}`);
        if (SELFTEST) {
          console.log(`      both failed; buildah: ${(r.stderr.split('\n').filter(Boolean).pop() ?? '').slice(0, 200)}`);
        } else {
          expect(s.stderr + '\n' + s.stdout, `hod's message names the line (${tail(s)})`).to.match(c.expectFail);
        }
        return;
      }

      const tmp = path.join(dir, 'tmp');
      fs.mkdirSync(tmp);
      const ri = expectBuilt(ref, r, tag);
      const si = expectBuilt(sut, s, tag);
      const refTree = ref.tree(tag, ri, tmp);
      if (SHOW) show(ri, refTree);
      const diffs: Difference[] = [...diffImages(ri, si, ref.label, sut.label), ...diffTrees(refTree, sut.tree(tag, si, tmp), ref.label, sut.label)];
      const { unexplained, explained } = partition(diffs, [...(c.knownDifferences ?? []), ...SUITE_KNOWN]);
      for (const { d, why } of explained) console.log(`      known difference: ${d.line}  [${why}]`);
      if (unexplained.length) expect.fail(`${unexplained.length} difference(s):\n${unexplained.map((d) => `  ${d.line}`).join('\n')}`);
    });
  });
});
