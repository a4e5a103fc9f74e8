import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { hod, hodOk } from '../helpers.js';
import { budFixture } from '../bud-fixture.js';

/** `hod bud` end to end: the cache, failures, secrets, stages, contexts. The oracle comparisons are in test/conformance. */
describe('bud', function () {
  this.timeout(120_000);
  const f = budFixture();
  const write = f.write;
  const bud = (...args: string[]) => hod(f.root, ['bud', ...args, f.ctx]);
  const rootfsFiles = (image: string, dir: string): string[] => {
    const c = hodOk(f.root, ['from', image]);
    try {
      const m = hodOk(f.root, ['mount', c]);
      return fs.readdirSync(path.join(m, dir)).sort();
    } finally {
      hodOk(f.root, ['rm', c]);
    }
  };


  it('prints steps on stderr and only the id on stdout; a rebuild takes every step from the cache', () => {
    write('Dockerfile', 'FROM busybox:1\nRUN echo built > /built\nENV A=1\nCOPY a.txt /a.txt\nCMD ["sh"]\n');
    write('a.txt', 'a');
    const first = bud('-t', 'cached:1');
    expect(first.status, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^[0-9a-f]{64}$/);
    expect(first.stderr).to.include('STEP 2/5: RUN echo built > /built').and.include('COMMIT localhost/cached:1');
    expect(first.stderr).not.to.include('Using cache');
    const second = bud('-t', 'cached:1');
    expect(second.stdout).to.equal(first.stdout);
    expect(second.stderr.match(/Using cache/g)).to.have.length(4);
    expect(hodOk(f.root, ['containers', '-q'])).to.equal('');
  });

  it('rebuilds from the first step that reads a changed context file, and no earlier', () => {
    write('Dockerfile', 'FROM busybox:1\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy\nCOPY b.txt /b.txt\n');
    write('a.txt', 'a');
    write('b.txt', 'b');
    expect(bud('-t', 'touch:1').status).to.equal(0);
    write('a.txt', 'changed');
    const r = bud('-t', 'touch:1');
    expect(r.status, r.stderr).to.equal(0);
    const steps = r.stderr.split('STEP ').slice(1);
    expect(steps.map((s) => s.includes('Using cache'))).to.deep.equal([false, true, false, false, false]);
    const c = hodOk(f.root, ['from', 'touch:1']);
    const m = hodOk(f.root, ['mount', c]);
    expect(fs.readFileSync(path.join(m, 'copy'), 'utf8')).to.equal('changed');
    hodOk(f.root, ['rm', c]);
  });

  it('a failing RUN stops the build with file:line, step and exit code, tags nothing and leaves no container', () => {
    write('Containerfile', 'FROM busybox:1\nRUN echo ok\nRUN echo bad; exit 3\nRUN echo never\n');
    const r = bud('-t', 'failed:1');
    expect(r.status).to.equal(3);
    expect(r.stderr).to.include('Containerfile:3:').and.include('RUN echo bad; exit 3').and.include('exit status 3');
    expect(r.stderr).not.to.include('echo never\nnever');
    expect(hod(f.root, ['inspect', 'failed:1']).status).to.not.equal(0);
    expect(hodOk(f.root, ['containers', '-q'])).to.equal('');
  });

  it('refuses COPY sources that are missing or outside the context, and an undefined ARG in FROM', () => {
    write('Dockerfile', 'FROM busybox:1\nCOPY nothere /x\n');
    let r = bud();
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/Dockerfile:2: COPY: .*nothere.*no such file/);
    write('Dockerfile', 'FROM busybox:1\nCOPY ../../etc/passwd /x\n');
    r = bud();
    expect(r.stderr).to.match(/Dockerfile:2: COPY: .*outside of the context directory/);
    write('Dockerfile', 'ARG BASE\nFROM ${BASE}\n');
    r = bud();
    expect(r.status).to.equal(125);
    expect(r.stderr).to.include('Dockerfile:2: FROM ${BASE}: build argument "BASE" is not defined');
    write('Dockerfile', 'FROM busybox:1\nRUN echo a \\\n  b\nFROB\n');
    r = bud();
    expect(r.stderr).to.include('Dockerfile:4: unknown instruction: FROB');
  });

  it('keeps a secret out of every layer and the history', () => {
    const secret = path.join(f.root, '..', `secret-${process.pid}`);
    fs.writeFileSync(secret, 'hunter2-secret-value');
    const md5 = crypto.createHash('md5').update('hunter2-secret-value').digest('hex');
    write('Dockerfile', `FROM busybox:1\nRUN --mount=type=secret,id=tok test "$(md5sum < /run/secrets/tok | cut -c1-12)" = ${md5.slice(0, 12)} && touch /secret-was-there\n`);
    const r = bud('--secret', `id=tok,src=${secret}`, '-t', 'secret:1');
    fs.rmSync(secret);
    expect(r.status, r.stderr).to.equal(0);
    const store = fs.readdirSync(path.join(f.root, 'blobs', 'sha256'));
    for (const b of store) {
      const raw = fs.readFileSync(path.join(f.root, 'blobs', 'sha256', b));
      const data = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw;
      expect(data.includes('hunter2-secret-value'), `blob ${b}`).to.equal(false);
    }
    expect(rootfsFiles('secret:1', '/')).to.include('secret-was-there').and.not.include('run');
  });

  it('builds only the stages the target needs, and copies between stages', () => {
    write('Dockerfile', [
      'FROM busybox:1 AS unused', 'RUN exit 9',
      'FROM busybox:1 AS build', 'RUN mkdir /out && echo artifact > /out/a',
      'FROM busybox:1 AS runtime', 'COPY --from=build /out/a /app/a', 'COPY --from=1 /out /app/out',
      'FROM runtime AS later', 'RUN exit 8',
    ].join('\n'));
    const r = bud('--target', 'runtime', '-t', 'staged:1');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).not.to.include('exit 9');
    expect(rootfsFiles('staged:1', 'app')).to.deep.equal(['a', 'out']);
  });

  it('reads the Dockerfile from stdin, honours .dockerignore and writes --iidfile', () => {
    write('keep.txt', 'k');
    write('skip.log', 's');
    write('logs/keep.log', 'k');
    write('.dockerignore', '*.log\n**/*.log\n!logs/keep.log\n');
    const iid = path.join(f.ctx, '..', `iid-${process.pid}`);
    const r = hod(f.root, ['bud', '-f', '-', '--iidfile', iid, '-t', 'stdin:1', f.ctx], { input: 'FROM busybox:1\nCOPY . /ctx/\n' });
    expect(r.status, r.stderr).to.equal(0);
    expect(fs.readFileSync(iid, 'utf8')).to.equal(`sha256:${r.stdout}`);
    fs.rmSync(iid);
    expect(rootfsFiles('stdin:1', 'ctx')).to.deep.equal(['.dockerignore', 'keep.txt', 'logs']);
    expect(rootfsFiles('stdin:1', 'ctx/logs')).to.deep.equal(['keep.log']);
  });

  it('--layers=false commits once, --squash makes one layer, and --label lands on the final image', () => {
    write('Dockerfile', 'FROM busybox:1\nRUN echo 1 > /1\nRUN echo 2 > /2\nENV X=1\n');
    const layersOf = (img: string) => JSON.parse(hodOk(f.root, ['inspect', '--format', '{{json .OCIv1.rootfs.diff_ids}}', img])).length;
    expect(bud('-t', 'layers:1').status).to.equal(0);
    expect(layersOf('layers:1')).to.equal(3);
    const one = bud('--layers=false', '-t', 'nolayers:1');
    expect(one.status, one.stderr).to.equal(0);
    expect(layersOf('nolayers:1')).to.equal(2);
    expect(one.stderr).not.to.include('Using cache');
    expect(bud('--squash', '--label', 'team=x', '-t', 'squashed:1').status).to.equal(0);
    expect(layersOf('squashed:1')).to.equal(1);
    expect(hodOk(f.root, ['inspect', '--format', '{{.OCIv1.config.Labels.team}}', 'squashed:1'])).to.equal('x');
  });

  it('expands build args where Docker does, and warns about unused ones', () => {
    write('Dockerfile', 'ARG TAG=1\nFROM busybox:${TAG}\nARG WHO=world\nARG WHERE\nENV GREETING="hello ${WHO}"\nRUN echo "$GREETING/$WHO/$WHERE" > /greeting\nWORKDIR /srv/$WHO\n');
    const argFile = path.join(f.ctx, '..', `args-${process.pid}.env`);
    fs.writeFileSync(argFile, '# from a file; --build-arg wins\nWHO=file\nWHERE=from-file\n');
    const r = bud('--build-arg-file', argFile, '--build-arg', 'WHO=hod', '--build-arg', 'UNUSED=1', '-t', 'args:1');
    fs.rmSync(argFile);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.include('[Warning] one or more build args were not consumed: [UNUSED]');
    const c = hodOk(f.root, ['from', 'args:1']);
    const m = hodOk(f.root, ['mount', c]);
    expect(fs.readFileSync(path.join(m, 'greeting'), 'utf8')).to.equal('hello hod/hod/from-file\n');
    expect(hodOk(f.root, ['inspect', '--format', '{{.OCIv1.config.WorkingDir}}', 'args:1'])).to.equal('/srv/hod');
    hodOk(f.root, ['rm', c]);
  });
});
