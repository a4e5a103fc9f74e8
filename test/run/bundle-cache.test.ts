import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { REPO, hodOk, makeBusybox, tempRoot } from '../helpers.js';
import { startRegistry } from '../registry/server.js';

/**
 * bin/hod compiles a verb's bundle with a V8 code cache kept beside it (what makes `hod run` start ~8 ms
 * sooner): on a copy of bin/ and dist/, so the checkout's own caches are left alone.
 */
describe('bin/hod: the verb bundles\' code cache', function () {
  let dir: string;
  const bundle = () => path.join(dir, 'dist', 'cli', 'version.cjs');
  const cache = () => `${bundle()}.v8cache`;
  const version = (...args: string[]) => spawnSync(path.join(dir, 'bin', 'hod'), ['version', ...args], { encoding: 'utf8' });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-cache-'));
    fs.cpSync(path.join(REPO, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.cpSync(path.join(REPO, 'dist'), path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.v8cache') });
    fs.cpSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is written by a run that ended well, stamped with the bundle\'s size and mtime and Node\'s version, and rewritten by the next two', function () {
    expect(version('--bogus').status).to.equal(125);
    expect(fs.existsSync(cache()), 'a failed run writes none').to.equal(false);
    const st = fs.statSync(bundle());
    for (const n of [1, 2, 3, 3]) {
      const r = version();
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^Version:/);
      const data = fs.readFileSync(cache());
      expect(data.subarray(0, data.indexOf(10)).toString()).to.equal(`${st.size} ${st.mtimeMs} ${n} exit ${process.version}`);
    }
  });

  it('is not used for a bundle that changed, even to one of the same length', function () {
    expect(version().status).to.equal(0);
    const text = fs.readFileSync(bundle(), 'utf8');
    expect(text).to.contain('`Version:  ');
    // same length, other output: a cache of the old text would still print "Version:"
    fs.writeFileSync(bundle(), text.replace('`Version:  ', '`VERSION:  '));
    fs.utimesSync(bundle(), new Date(), new Date(Date.now() + 5000));
    const r = version();
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^VERSION:/);
  });

  it('is accepted by the next run of a verb that talks to a registry, which changes a V8 flag (--liftoff-only) and puts it back before writing the cache', async function () {
    this.timeout(60_000);
    const reg = await startRegistry();
    const t = tempRoot();
    try {
      makeBusybox(t.root, 'app:1');
      hodOk(t.root, ['push', '--tls-verify=false', 'app:1', `docker://${reg.host}/cache/app:1`]);
      const inspectCache = path.join(dir, 'dist', 'cli', 'inspect.cjs.v8cache');
      const inspect = () => {
        const r = spawnSync(path.join(dir, 'bin', 'hod'), ['--root', t.root, 'inspect', '--tls-verify=false', '--type', 'manifest', `docker://${reg.host}/cache/app:1`], { encoding: 'utf8' });
        expect(r.status, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout).layers).to.have.length(1);
        const data = fs.readFileSync(inspectCache);
        return data.subarray(0, data.indexOf(10)).toString().split(' ').slice(2, 4).join(' ');
      };
      // a cache V8 refused would be written again as the first: 1, 1, 1
      for (const n of [1, 2, 3]) expect(inspect()).to.equal(`${n} exit`);
      // a refused cache (here a damaged one, as when putting the flags back does not give the flags the
      // cache is checked against) is written before the flag changes from then on
      const data = fs.readFileSync(inspectCache);
      const nl = data.indexOf(10);
      fs.writeFileSync(inspectCache, Buffer.concat([data.subarray(0, nl + 1), Buffer.alloc(data.length - nl - 1, 7)]));
      expect(inspect()).to.equal('1 before-flags');
      expect(inspect()).to.equal('2 before-flags');
    } finally {
      t.cleanup();
      await reg.stop();
    }
  });
});
