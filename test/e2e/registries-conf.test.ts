import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hod, hodOk, makeBusybox, tempRoot } from '../helpers.js';
import { startRegistry, type Registry } from '../registry/server.js';

/**
 * registries.conf in pulls, pushes and `from`: short names through unqualified-search registries and
 * aliases, mirrors tried first, insecure registries reached without --tls-verify, blocked ones refused.
 * Two real registries on loopback: `full` holds team/app:1, `empty` holds nothing.
 */
describe('registries.conf: short names, aliases, mirrors, insecure and blocked registries', function () {
  this.timeout(120_000);
  let full: Registry;
  let empty: Registry;
  let src: ReturnType<typeof tempRoot>;
  let dst: ReturnType<typeof tempRoot>;
  let dir: string;
  let appId: string;

  /** Write a registries.conf and return the env that makes hod read it (and no drop-ins, no alias cache). */
  function conf(text: string): NodeJS.ProcessEnv {
    const file = path.join(dir, `registries-${Math.random().toString(36).slice(2)}.conf`);
    fs.writeFileSync(file, text);
    return { CONTAINERS_REGISTRIES_CONF: file, HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
  }

  const insecure = (r: Registry) => `[[registry]]\nlocation = "${r.host}"\ninsecure = true\n`;

  before(async () => {
    [full, empty] = await Promise.all([startRegistry(), startRegistry()]);
    src = tempRoot();
    appId = makeBusybox(src.root, 'app:1');
    hodOk(src.root, ['push', '-q', '--tls-verify=false', 'app:1', `docker://${full.host}/team/app:1`]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-regconf-'));
  });
  after(async () => {
    await Promise.all([full?.stop(), empty?.stop()]);
    src?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => (dst = tempRoot()));
  afterEach(() => dst.cleanup());

  it('pulls a short name from the unqualified-search registry, over plain HTTP because it is insecure', function () {
    const env = conf(`unqualified-search-registries = ["${full.host}"]\n${insecure(full)}`);
    const r = hod(dst.root, ['pull', 'team/app:1'], { env });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(appId);
    expect(r.stderr).to.contain(`Trying to pull ${full.host}/team/app:1...`);
    expect(hodOk(dst.root, ['images', '--format', '{{.Name}}:{{.Tag}}'])).to.equal(`${full.host}/team/app:1`);
  });

  it('tries each search registry in order in permissive mode, and refuses to guess in enforcing mode without a terminal', function () {
    const both = `unqualified-search-registries = ["${empty.host}", "${full.host}"]\n${insecure(empty)}${insecure(full)}`;
    const r = hod(dst.root, ['pull', 'team/app:1'], { env: conf(`short-name-mode = "permissive"\n${both}`) });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`Trying to pull ${empty.host}/team/app:1...`);
    expect(r.stderr).to.contain(`Trying to pull ${full.host}/team/app:1...`);
    expect(r.stdout).to.equal(appId);

    const e = hod(dst.root, ['pull', 'team/app:1'], { env: conf(`short-name-mode = "enforcing"\n${both}`) });
    expect(e.status).to.equal(125);
    expect(e.stderr).to.match(/short name "team\/app:1" is ambiguous/);
  });

  it('names every candidate when none has the image', function () {
    const env = conf(`unqualified-search-registries = ["${empty.host}", "${full.host}"]\n${insecure(empty)}${insecure(full)}`);
    const r = hod(dst.root, ['pull', 'team/none:1'], { env });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.contain(`${empty.host}/team/none:1: `);
    expect(r.stderr).to.contain(`${full.host}/team/none:1: `);
    expect(r.stderr).to.match(/not found/);
    expect(fs.readdirSync(path.join(dst.root, 'blobs', 'sha256')).length, 'nothing stored').to.equal(0);
  });

  it('resolves an alias for `from` when the image is not in the store', function () {
    const env = conf(`[aliases]\n"myapp" = "${full.host}/team/app"\n${insecure(full)}`);
    const ctr = hodOk(dst.root, ['from', 'myapp:1'], { env });
    expect(hodOk(dst.root, ['inspect', '--format', '{{.FromImage}}', ctr])).to.equal(`${full.host}/team/app:1`);
  });

  it('without a search registry or an alias, a short name is an error that says what to set', function () {
    const r = hod(dst.root, ['pull', 'team/app:1'], { env: conf('') });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/short name "team\/app:1" did not resolve to an alias and no unqualified-search registries are defined/);
  });

  it('pulls through a mirror first, keeping the name the user gave', function () {
    // the registry itself is unreachable (.invalid never resolves): only the mirror can serve it
    const env = conf(`[[registry]]\nprefix = "registry.invalid/team"\nlocation = "registry.invalid/team"\n[[registry.mirror]]\nlocation = "${full.host}/team"\ninsecure = true\n`);
    const r = hod(dst.root, ['pull', 'registry.invalid/team/app:1'], { env });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(appId);
    expect(hodOk(dst.root, ['images', '--format', '{{.Name}}:{{.Tag}}'])).to.equal('registry.invalid/team/app:1');
  });

  it('reports the registry\'s own failure and the mirror\'s when both fail', function () {
    const env = conf(`[[registry]]\nlocation = "${full.host}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${empty.host}"\ninsecure = true\n`);
    const r = hod(dst.root, ['pull', `${full.host}/team/none:1`], { env });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/not found.*\(mirrors also failed: .*team\/none:1: .*not found/);
  });

  it('refuses to pull from or push to a blocked registry, naming the file that blocks it', function () {
    const env = conf(`[[registry]]\nlocation = "${full.host}"\nblocked = true\n`);
    const p = hod(dst.root, ['pull', '--tls-verify=false', `${full.host}/team/app:1`], { env });
    expect(p.status).to.equal(125);
    expect(p.stderr).to.contain(`registry ${full.host} is blocked in ${env.CONTAINERS_REGISTRIES_CONF}`);
    const u = hod(src.root, ['push', '--tls-verify=false', 'app:1', `docker://${full.host}/team/other:1`], { env });
    expect(u.status).to.equal(125);
    expect(u.stderr).to.contain(`registry ${full.host} is blocked in ${env.CONTAINERS_REGISTRIES_CONF}: cannot push to ${full.host}/team/other:1`);
  });

  it('pushes to an insecure registry without --tls-verify, and --tls-verify=true still wins over the file', function () {
    const env = conf(insecure(full));
    const r = hod(src.root, ['push', '-q', 'app:1', `docker://${full.host}/team/insecure:1`], { env });
    expect(r.status, r.stderr).to.equal(0);
    const strict = hod(src.root, ['push', '-q', '--tls-verify=true', 'app:1', `docker://${full.host}/team/insecure:2`], { env });
    expect(strict.status).to.equal(125);
    expect(strict.stderr).to.match(/does not speak TLS/);
  });
});
