import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { HOD, hod, hodAsync, hodOk, makeBusybox, tempRoot } from '../helpers.js';

/** Several builds in one store at once, a build killed halfway, and `system check` to prove the store whole. */
describe('concurrent builds and system check', function () {
  this.timeout(180_000);
  let t: ReturnType<typeof tempRoot>;
  let work: string;
  const context = (name: string, dockerfile: string, files: Record<string, string> = {}) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), c);
    return dir;
  };

  before(() => {
    t = tempRoot();
    makeBusybox(t.root, 'busybox:1');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-conc-'));
  });
  after(() => {
    t.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs four bud processes in one store at once: all succeed, share the base, and the store checks clean', async () => {
    const dirs = [1, 2, 3, 4].map((i) => context(`c${i}`, `FROM busybox:1\nRUN echo shared-step > /shared\nCOPY f /f\nRUN echo ${i} > /n && sleep 0.2\nENV N=${i}\n`, { f: `file ${i}` }));
    const results = await Promise.all(dirs.map((d, i) => hodAsync(t.root, ['bud', '-t', `conc${i + 1}`, d])));
    for (const r of results) expect(r.status, r.stderr).to.equal(0);
    const ids = results.map((r) => r.stdout);
    expect(new Set(ids).size).to.equal(4);
    for (let i = 1; i <= 4; i++) {
      const c = hodOk(t.root, ['from', `conc${i}`]);
      const m = hodOk(t.root, ['mount', c]);
      expect(fs.readFileSync(path.join(m, 'n'), 'utf8')).to.equal(`${i}\n`);
      expect(fs.readFileSync(path.join(m, 'f'), 'utf8')).to.equal(`file ${i}`);
      hodOk(t.root, ['rm', c]);
    }
    expect(hodOk(t.root, ['containers', '-q'])).to.equal('');
    const check = hod(t.root, ['system', 'check']);
    expect(check.status, check.stdout).to.equal(0);
    expect(check.stderr).to.include('the store is consistent');
  });

  it('a build killed halfway leaves a store the next build and the check get along with', async () => {
    const dir = context('killed', 'FROM busybox:1\nRUN echo before > /before\nRUN sleep 4\n');
    const child = spawn(HOD, ['--root', t.root, 'bud', '-t', 'killed:1', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    for (let i = 0; i < 100 && !err.includes('STEP 3/3'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(err).to.include('STEP 3/3');
    child.kill('SIGKILL');
    // 'exit', not 'close': the step's command still holds the stderr pipe
    await new Promise((r) => child.once('exit', r));
    // the runc container it started goes on; the store must not care
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox:1\nRUN echo before > /before\nRUN echo after > /after\n');
    const next = await hodAsync(t.root, ['bud', '-t', 'killed:1', dir]);
    expect(next.status, next.stderr).to.equal(0);
    expect(next.stderr).to.include('Using cache');
    const check = hod(t.root, ['system', 'check']);
    expect(check.status, check.stdout).to.equal(0);
    // the killed hod's network namespace (named for its pid) was freed by the next build's RUN steps
    const leftover = () => (fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : []).filter((n) => n.startsWith(`hod-${child.pid}-`));
    for (let i = 0; i < 40 && leftover().length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(leftover()).to.deep.equal([]);
    // the killed build's working container stays, as after any crash: rm -a clears it once its command is over
    let rm = hod(t.root, ['rm', '-a']);
    for (let i = 0; i < 50 && rm.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      rm = hod(t.root, ['rm', '-a']);
    }
    expect(rm.status, rm.stderr).to.equal(0);
  });

  it('finds a damaged blob and a leftover layer directory, and --repair drops the broken image', () => {
    const dir = context('damage', 'FROM busybox:1\nRUN echo to-damage > /d\n');
    expect(hod(t.root, ['bud', '-t', 'damaged:1', dir]).status).to.equal(0);
    const index = JSON.parse(fs.readFileSync(path.join(t.root, 'index.json'), 'utf8'));
    const entry = index.manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'localhost/damaged:1');
    const manifest = JSON.parse(fs.readFileSync(path.join(t.root, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8'));
    const layer = manifest.layers[manifest.layers.length - 1].digest as string;
    fs.appendFileSync(path.join(t.root, 'blobs', 'sha256', layer.slice(7)), 'x');
    fs.mkdirSync(path.join(t.root, 'layers', 'f'.repeat(64)));
    const check = hod(t.root, ['system', 'check']);
    expect(check.status).to.equal(1);
    expect(check.stdout).to.include(`image localhost/damaged:1: layer ${layer} is damaged`).and.include(`layers/${'f'.repeat(64)} is used by no image`);
    const repair = hod(t.root, ['system', 'check', '--repair']);
    expect(repair.status, repair.stderr).to.equal(0);
    expect(hod(t.root, ['inspect', 'damaged:1']).status).to.not.equal(0);
    expect(hod(t.root, ['system', 'check']).status).to.equal(0);
    expect(hod(t.root, ['inspect', 'busybox:1']).status).to.equal(0);
  });
});
