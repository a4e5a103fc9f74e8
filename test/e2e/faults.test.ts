import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { HOD, hod, hodOk, makeBusybox, tempRoot } from '../helpers.js';

function indexNames(root: string): string[] {
  const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8'));
  return index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
}

/** Every blob the index reaches exists and hashes to its name. */
function checkConsistent(root: string): void {
  const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8'));
  for (const m of index.manifests) {
    const man = JSON.parse(fs.readFileSync(path.join(root, 'blobs/sha256', m.digest.slice(7)), 'utf8'));
    for (const d of [man.config, ...man.layers]) expect(fs.existsSync(path.join(root, 'blobs/sha256', d.digest.slice(7))), d.digest).to.equal(true);
  }
  expect(hod(root, ['images']).status).to.equal(0);
}

describe('bad input and faults', function () {
  let root: string;
  let cleanup: () => void;
  before(function () {
    ({ root, cleanup } = tempRoot());
    makeBusybox(root);
  });
  after(() => cleanup());

  const unknown: [string, string[], RegExp][] = [
    ['mount', ['mount', 'no-such-ctr'], /container "no-such-ctr" not found/],
    ['config', ['config', '--env', 'A=1', 'no-such-ctr'], /container "no-such-ctr" not found/],
    ['commit', ['commit', 'no-such-ctr', 'x:1'], /container "no-such-ctr" not found/],
    ['rm', ['rm', 'no-such-ctr'], /container "no-such-ctr" not found/],
    ['from', ['from', 'no-such-image:3'], /image "no-such-image:3" not found/],
    ['rmi', ['rmi', 'no-such-image'], /image "no-such-image" not found/],
    ['inspect', ['inspect', 'nothing-here'], /"nothing-here" not found/],
    ['tag', ['tag', 'no-such-image', 'y'], /image "no-such-image" not found/],
  ];
  for (const [verb, args, msg] of unknown) {
    it(`${verb} of an unknown name exits 125 with one line naming it`, function () {
      const r = hod(root, args);
      expect(r.status).to.equal(125);
      expect(r.stderr.split('\n')).to.have.length(1);
      expect(r.stderr).to.match(msg);
    });
  }

  const badNames: [string, RegExp][] = [
    ['Busybox:1', /lowercase/],
    ['busybox:bad tag', /invalid/],
    ['busybox@sha256:1234', /digest/],
    ['-x', /invalid|unknown flag/],
  ];
  for (const [name, rule] of badNames) {
    it(`refuses the image name "${name}" with the rule it breaks`, function () {
      const c = hodOk(root, ['from', 'busybox:1']);
      const r = hod(root, ['commit', c, name]);
      expect(r.status).to.equal(125);
      expect(r.stderr).to.match(rule);
      hodOk(root, ['rm', c]);
    });
  }

  it('refuses rmi of an image a container uses, unless -f', function () {
    makeBusybox(root, 'inuse:1');
    const c = hodOk(root, ['from', 'inuse:1']);
    const r = hod(root, ['rmi', 'inuse:1']);
    expect(r.status).to.equal(125);
    expect(r.stderr).to.contain(c);
    expect(indexNames(root)).to.include('localhost/inuse:1');
    hodOk(root, ['rmi', '-f', 'inuse:1']);
    expect(indexNames(root)).not.to.include('localhost/inuse:1');
    expect(hod(root, ['inspect', '--type', 'container', c]).status).to.equal(125);
    checkConsistent(root);
  });

  it('keeps all eight of eight concurrent commits to eight tags', async function () {
    const ctrs = Array.from({ length: 8 }, () => hodOk(root, ['from', 'busybox:1']));
    for (const [i, c] of ctrs.entries()) fs.writeFileSync(path.join(hodOk(root, ['mount', c]), `f${i}`), String(i));
    const codes = await Promise.all(ctrs.map((c, i) => new Promise<number>((resolve) => {
      spawn(HOD, ['--root', root, 'commit', '--rm', c, `par:${i}`], { stdio: 'ignore' }).on('exit', (code) => resolve(code ?? -1));
    })));
    expect(codes).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    const names = indexNames(root);
    for (let i = 0; i < 8; i++) expect(names).to.include(`localhost/par:${i}`);
    checkConsistent(root);
  });

  it('stays consistent after kill -9 during a commit, and cleans tmp/ on the next run', async function () {
    const c = hodOk(root, ['from', 'busybox:1']);
    const mnt = hodOk(root, ['mount', c]);
    // random data so the commit takes a while; it is killed once its staged blob appears in tmp/
    for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(mnt, `big${i}`), crypto.randomBytes(4 << 20));
    const before = indexNames(root);
    const tmp = path.join(root, 'tmp');
    const child = spawn(HOD, ['--root', root, 'commit', c, 'killed:1'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    while (child.exitCode === null && !fs.readdirSync(tmp).some((n) => n.startsWith('layer-blob'))) {
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode, 'the commit was killed, not finished').to.equal('SIGKILL');
    expect(fs.readdirSync(tmp)).not.to.deep.equal([]);
    expect(indexNames(root)).to.deep.equal(before);
    checkConsistent(root);
    hodOk(root, ['images', '-q']);
    expect(fs.readdirSync(tmp), 'tmp/ cleaned by the next run').to.deep.equal([]);
    hodOk(root, ['commit', '--rm', c, 'killed:1']);
    expect(indexNames(root)).to.include('localhost/killed:1');
    checkConsistent(root);
  });

  it('prints config warnings on stderr, buildah-style, and still applies the rest', function () {
    const c = hodOk(root, ['from', 'scratch']);
    const r = hod(root, ['config', '--healthcheck', 'CMD true', '--env', 'A=1', c]);
    expect(r.status).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^WARN\[0000\] HEALTHCHECK is not supported for OCI image format/);
    expect(hodOk(root, ['inspect', '--format', '{{.OCIv1.config.Env}}', c])).to.contain('A=1');
    hodOk(root, ['rm', c]);
  });

  it('refuses a second container with a taken name and generates -1, -2 names', function () {
    const a = hodOk(root, ['from', 'busybox:1']);
    const b = hodOk(root, ['from', 'busybox:1']);
    expect(b).to.match(/^busybox-working-container-\d+$/);
    expect(b).not.to.equal(a);
    const r = hod(root, ['from', '--name', a, 'busybox:1']);
    expect(r.status).to.equal(125);
    expect(r.stderr).to.contain('already in use');
    hodOk(root, ['rm', a, b]);
  });
});
