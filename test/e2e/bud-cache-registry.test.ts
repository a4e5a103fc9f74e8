import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hodAsync, hodOk, makeBusybox, readFromImage, tempRoot } from '../helpers.js';
import { startProxy, startRegistry, type Registry } from '../registry/server.js';

/** --cache-to / --cache-from: build pods share their steps through a registry on loopback. */
describe('bud cache through a registry', function () {
  this.timeout(180_000);
  let reg: Registry;
  let ctx: string;
  const stores: ReturnType<typeof tempRoot>[] = [];
  let first: string | undefined;
  // every store has the same base image (same id), as pods pulling it from one registry do
  const store = async () => {
    const t = tempRoot();
    stores.push(t);
    if (first === undefined) {
      makeBusybox(t.root, 'busybox:1');
      expect((await hodAsync(t.root, ['push', '--tls-verify=false', 'busybox:1', `docker://${reg.host}/base/busybox:1`])).status).to.equal(0);
      first = t.root;
    } else {
      expect((await hodAsync(t.root, ['pull', '--tls-verify=false', '-q', `docker://${reg.host}/base/busybox:1`])).status).to.equal(0);
      hodOk(t.root, ['tag', `${reg.host}/base/busybox:1`, 'busybox:1']);
    }
    return t.root;
  };
  const read = readFromImage;

  before(async () => {
    reg = await startRegistry();
    ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-bud-rc-'));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
      'FROM busybox:1',
      'RUN cat /proc/sys/kernel/random/uuid > /first && echo ran-first-step',
      'COPY data.txt /data.txt',
      'RUN cat /proc/sys/kernel/random/uuid > /second && echo ran-second-step',
      'ENV DONE=1',
    ].join('\n'));
    fs.writeFileSync(path.join(ctx, 'data.txt'), 'data');
  });
  after(async () => {
    await reg?.stop();
    for (const t of stores) t.cleanup();
    fs.rmSync(ctx, { recursive: true, force: true });
  });

  it('pushes every built step with --cache-to, and a build on an empty store runs no RUN with --cache-from', async () => {
    const a = await store();
    const repo = `${reg.host}/team/cache`;
    const built = await hodAsync(a, ['bud', '--tls-verify=false', '--cache-to', repo, '-t', 'app:1', ctx]);
    expect(built.status, built.stderr).to.equal(0);
    expect(built.stderr).to.match(/^ran-first-step$/m).and.match(/^ran-second-step$/m);

    const b = await store();
    const reused = await hodAsync(b, ['bud', '--tls-verify=false', '--cache-from', repo, '-t', 'app:1', ctx]);
    expect(reused.status, reused.stderr).to.equal(0);
    // the steps' own output, not their STEP lines
    expect(reused.stderr).not.to.match(/^ran-first-step$/m);
    expect(reused.stderr).not.to.match(/^ran-second-step$/m);
    expect(reused.stderr.match(/Using cache/g)).to.have.length(4);
    expect(reused.stdout).to.equal(built.stdout);
    // a hit stores the step's blobs only: nothing of the cached steps is unpacked until a container needs it
    expect(fs.readdirSync(path.join(b, 'layers'))).to.have.length(1);
    expect(read(b, 'app:1', 'second')).to.equal(read(a, 'app:1', 'second'));
    expect(hodOk(b, ['system', 'check'])).to.equal('');
    // the pulled steps are the store's own cache now, not names of their own
    expect(hodOk(b, ['images', '--format', '{{.Name}}']).split('\n').filter((n) => n.includes('cache'))).to.deep.equal([]);
  });

  it('builds a step that misses on top of steps that hit, unpacking their layers then', async () => {
    const a = await store();
    const repo = `${reg.host}/team/partial`;
    expect((await hodAsync(a, ['bud', '--tls-verify=false', '--cache-to', repo, '-t', 'app:1', ctx])).status).to.equal(0);
    const more = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-bud-rc-more-'));
    try {
      fs.cpSync(ctx, more, { recursive: true });
      fs.appendFileSync(path.join(more, 'Dockerfile'), '\nRUN cat /second /data.txt > /third && echo ran-third-step\n');
      const b = await store();
      const r = await hodAsync(b, ['bud', '--tls-verify=false', '--cache-from', repo, '-t', 'app:2', more]);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr.match(/Using cache/g)).to.have.length(4);
      expect(r.stderr).to.match(/^ran-third-step$/m).and.not.match(/^ran-second-step$/m);
      expect(read(b, 'app:2', 'third')).to.equal(read(a, 'app:1', 'second') + 'data');
    } finally {
      fs.rmSync(more, { recursive: true, force: true });
    }
  });

  it('uploads each blob once, however many steps\' images hold it', async () => {
    // every step's image holds the base layer; pushes side by side each uploaded it again, and
    // docker-registry then refused some step's manifest (a step missing from the cache)
    const proxy = await startProxy(reg.host, {});
    try {
      const a = await store();
      const built = await hodAsync(a, ['bud', '--tls-verify=false', '--cache-to', `${proxy.host}/team/once`, '-t', 'app:1', ctx]);
      expect(built.status, built.stderr).to.equal(0);
      expect(built.stderr).not.to.include('pushing the cache of a step');
      const closed = proxy.requests.filter((r) => r.startsWith('PUT ') && r.includes('digest=')).map((r) => /digest=([^&\s]+)/.exec(r)![1]);
      expect(closed.length).to.be.greaterThan(0);
      expect(closed.filter((d, i) => closed.indexOf(d) !== i), 'blobs uploaded more than once').to.deep.equal([]);
      // one manifest per built step: 2 RUN, 1 COPY, 1 ENV
      expect(proxy.requests.filter((r) => r.startsWith('PUT /v2/team/once/manifests/'))).to.have.length(4);
    } finally {
      await proxy.stop();
    }
  });

  it('ignores, with a warning, a cache image that was not built for its key, and builds the step', async () => {
    const a = await store();
    const repo = `${reg.host}/team/tampered`;
    expect((await hodAsync(a, ['bud', '--tls-verify=false', '--cache-to', repo, '-t', 'app:1', ctx])).status).to.equal(0);
    // the first RUN step's key, from its history comment; another image goes under its tag
    const history = JSON.parse(hodOk(a, ['inspect', '--format', '{{json .OCIv1.history}}', 'app:1'])) as { comment?: string }[];
    const key = history[1]!.comment!.replace('hod cache key ', '');
    const pushed = await hodAsync(a, ['push', '--tls-verify=false', 'busybox:1', `docker://${repo}:${key}`]);
    expect(pushed.status, pushed.stderr).to.equal(0);

    const c = await store();
    const r = await hodAsync(c, ['bud', '--tls-verify=false', '--cache-from', repo, '-t', 'app:1', ctx]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`cache image ${repo}:${key} was not built for this step`);
    expect(r.stderr).to.match(/^ran-first-step$/m);
    expect(read(c, 'app:1', 'first')).not.to.equal(read(a, 'app:1', 'first'));
  });
});
