import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { hod, hodAsync, hodOk, readFromImage } from '../helpers.js';
import { budFixture } from '../bud-fixture.js';

/** bud's contexts (stdin tarball, URL, git, --build-context), here-documents, ONBUILD, ADD --checksum, --jobs. */
describe('bud: contexts, here-documents, triggers, parallel stages', function () {
  this.timeout(120_000);
  const f = budFixture();
  const write = f.write;
  const read = (image: string, file: string): string => readFromImage(f.root, image, file);


  it('takes the context as a tarball on stdin', () => {
    write('Dockerfile', 'FROM busybox:1\nCOPY hello.txt /hello.txt\n');
    write('hello.txt', 'from a tarball');
    const tar = execFileSync('tar', ['-C', f.ctx, '-cz', '.']);
    const r = hod(f.root, ['bud', '-t', 'stdin-ctx:1', '-'], { input: tar as unknown as string });
    expect(r.status, r.stderr).to.equal(0);
    expect(read('stdin-ctx:1', 'hello.txt')).to.equal('from a tarball');
  });

  it('takes the context from an http URL of a tarball, and from a git repository', async () => {
    write('Dockerfile', 'FROM busybox:1\nCOPY f /f\n');
    write('f', 'remote');
    const tar = execFileSync('tar', ['-C', f.ctx, '-c', '.']);
    const server = http.createServer((req, res) => {
      if (req.url === '/ctx.tar') res.end(tar);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await hodAsync(f.root, ['bud', '-t', 'url-ctx:1', `http://127.0.0.1:${port}/ctx.tar`]);
      expect(r.status, r.stderr).to.equal(0);
      const missing = await hodAsync(f.root, ['bud', `http://127.0.0.1:${port}/nope.tar`]);
      expect(missing.status).to.equal(125);
      expect(missing.stderr).to.include('HTTP 404');
    } finally {
      server.close();
    }
    expect(read('url-ctx:1', 'f')).to.equal('remote');

    const repo = path.join(f.ctx, '..', `repo-${process.pid}.git`);
    execFileSync('sh', ['-c', `set -e; git init -q -b main '${repo}'; cd '${repo}'; mkdir sub; printf 'FROM busybox:1\\nCOPY g /g\\n' > sub/Dockerfile; echo from-git > sub/g; git add -A; git -c user.name=t -c user.email=t@t commit -qm c`]);
    try {
      const r = hod(f.root, ['bud', '-t', 'git-ctx:1', `file://${repo}#main:sub`]);
      expect(r.status, r.stderr).to.equal(0);
      expect(read('git-ctx:1', 'g')).to.equal('from-git\n');
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });

  it('runs here-document scripts and copies here-documents, expanding only unquoted ones', () => {
    write('Dockerfile', [
      'FROM busybox:1', 'ARG WHO=hod',
      'RUN <<EOF', 'echo "script $WHO" > /script', 'echo line2 >> /script', 'EOF',
      'COPY <<EOT /etc/greeting', 'hello ${WHO}', 'EOT',
      'COPY <<"EOT" /etc/literal', 'hello ${WHO}', 'EOT',
    ].join('\n'));
    const r = hod(f.root, ['bud', '-t', 'heredoc:1', f.ctx]);
    expect(r.status, r.stderr).to.equal(0);
    expect(read('heredoc:1', 'script')).to.equal('script hod\nline2\n');
    expect(read('heredoc:1', 'etc/greeting')).to.equal('hello hod\n');
    expect(read('heredoc:1', 'etc/literal')).to.equal('hello ${WHO}\n');
  });

  it('stores ONBUILD triggers in a docker-format image and runs them in the next build that uses it', () => {
    write('Dockerfile', 'FROM busybox:1\nONBUILD RUN echo triggered > /triggered\nONBUILD COPY trig.txt /trig.txt\n');
    expect(hod(f.root, ['bud', '--format', 'docker', '-t', 'onbuild-base:1', f.ctx]).status).to.equal(0);
    expect(JSON.parse(hodOk(f.root, ['inspect', '--format', '{{json .Docker.config.OnBuild}}', 'onbuild-base:1']))).to.have.length(2);
    write('Dockerfile', 'FROM onbuild-base:1\nRUN cat /triggered\n');
    write('trig.txt', 'copied by a trigger');
    const r = hod(f.root, ['bud', '--format', 'docker', '-t', 'onbuild-child:1', f.ctx]);
    expect(r.status, r.stderr).to.equal(0);
    expect(read('onbuild-child:1', 'trig.txt')).to.equal('copied by a trigger');
    expect(hodOk(f.root, ['inspect', '--format', '{{json .Docker.config.OnBuild}}', 'onbuild-child:1'])).to.be.oneOf(['null', '']);
  });

  it('checks ADD --checksum, and reads COPY --from a --build-context directory', async () => {
    const body = 'downloaded content';
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/file.txt`;
    const good = crypto.createHash('sha256').update(body).digest('hex');
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-bud-other-'));
    fs.writeFileSync(path.join(other, 'extra.txt'), 'from another context');
    try {
      write('Dockerfile', `FROM busybox:1\nADD --checksum=sha256:${good} ${url} /dl.txt\nCOPY --from=extra extra.txt /extra.txt\n`);
      const r = await hodAsync(f.root, ['bud', '--build-context', `extra=${other}`, '-t', 'checksum:1', f.ctx]);
      expect(r.status, r.stderr).to.equal(0);
      expect(read('checksum:1', 'dl.txt')).to.equal(body);
      expect(read('checksum:1', 'extra.txt')).to.equal('from another context');
      write('Dockerfile', `FROM busybox:1\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /dl.txt\n`);
      const bad = await hodAsync(f.root, ['bud', '-t', 'badsum:1', f.ctx]);
      expect(bad.status).to.equal(125);
      expect(bad.stderr).to.include(`Dockerfile:2: ADD: the download has the digest sha256:${good}`);
      expect(hod(f.root, ['inspect', 'badsum:1']).status).to.not.equal(0);
    } finally {
      server.close();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('binds an SSH agent socket for RUN --mount=type=ssh, and leaves nothing of it in the image', async () => {
    const sock = path.join(os.tmpdir(), `hod-agent-${process.pid}.sock`);
    const agent = net.createServer((c) => c.end());
    await new Promise<void>((r) => agent.listen(sock, r));
    try {
      write('Dockerfile', 'FROM busybox:1\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /agent-path\n');
      const r = await hodAsync(f.root, ['bud', '--ssh', `default=${sock}`, '-t', 'ssh:1', f.ctx]);
      expect(r.status, r.stderr).to.equal(0);
      expect(read('ssh:1', 'agent-path')).to.equal('/run/buildkit/ssh_agent.0\n');
      const c = hodOk(f.root, ['from', 'ssh:1']);
      expect(fs.existsSync(path.join(hodOk(f.root, ['mount', c]), 'run'))).to.equal(false);
      hodOk(f.root, ['rm', c]);
      write('Dockerfile', 'FROM busybox:1\nRUN --mount=type=ssh,required=true true\n');
      const missing = await hodAsync(f.root, ['bud', f.ctx]);
      expect(missing.status).to.equal(125);
      expect(missing.stderr).to.include('Dockerfile:2: RUN --mount=type=ssh,required=true: no SSH agent "default" was given');
    } finally {
      agent.close();
    }
  });

  it('builds independent stages at the same time with --jobs', () => {
    // each stage waits for the other's mark in a shared cache mount: only a parallel build finishes
    const dockerfile = (id: string) => {
      const wait = (me: string, other: string) => `RUN --mount=type=cache,id=${id},target=/s touch /s/${me}; i=0; while [ ! -e /s/${other} ]; do i=$((i+1)); [ $i -gt 40 ] && exit 1; sleep 0.1; done; echo ${me} > /${me}`;
      return ['FROM busybox:1 AS a', wait('a', 'b'), 'FROM busybox:1 AS b', wait('b', 'a'), 'FROM busybox:1', 'COPY --from=a /a /a', 'COPY --from=b /b /b'].join('\n');
    };
    write('Dockerfile', dockerfile(`sync-${crypto.randomBytes(4).toString('hex')}`));
    const r = hod(f.root, ['bud', '--jobs', '2', '-t', 'parallel:1', f.ctx]);
    expect(r.status, r.stderr).to.equal(0);
    expect(read('parallel:1', 'a') + read('parallel:1', 'b')).to.equal('a\nb\n');
    write('Dockerfile', dockerfile(`sync-${crypto.randomBytes(4).toString('hex')}`));
    const serial = hod(f.root, ['bud', '--jobs', '1', f.ctx]);
    expect(serial.status).to.equal(1);
  });
});
