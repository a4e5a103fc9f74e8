import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { startRegistry, type Registry } from '../registry/server.js';

describe('login, logout and authenticated push/pull (htpasswd registry on 127.0.0.1)', function () {
  this.timeout(120_000);
  let reg: Registry;
  let t: ReturnType<typeof tempRoot>;
  let home: string;
  let authfile: string;

  before(async () => {
    reg = await startRegistry({ users: { alice: 's3cret-pass' } });
    t = tempRoot();
    makeBusybox(t.root, 'app:1');
  });
  after(async () => {
    await reg.stop();
    t.cleanup();
  });
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-home-'));
    authfile = path.join(home, 'auth.json');
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('checks the password before saving it, writes auth.json 0600, and push/pull use it', function () {
    const bad = hod(t.root, ['login', '--tls-verify=false', '--authfile', authfile, '-u', 'alice', '--password-stdin', reg.host], { input: 'wrong-guess\n' });
    expect(bad.status).to.equal(125);
    expect(bad.stderr).to.match(/authentication failed: invalid username\/password/);
    expect(bad.stderr).not.to.contain('wrong-guess');
    expect(fs.existsSync(authfile)).to.equal(false);

    const denied = hod(t.root, ['push', '--tls-verify=false', '--authfile', authfile, 'app:1', `${reg.host}/alice/app:1`]);
    expect(denied.status).to.equal(125);
    expect(denied.stderr).to.match(/unauthorized/);

    const ok = hod(t.root, ['login', '--tls-verify=false', '--authfile', authfile, '-u', 'alice', '--password-stdin', reg.host], { input: 's3cret-pass\n' });
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal('Login Succeeded!');
    expect(fs.statSync(authfile).mode & 0o777).to.equal(0o600);
    const saved = JSON.parse(fs.readFileSync(authfile, 'utf8'));
    expect(Buffer.from(saved.auths[reg.host].auth, 'base64').toString()).to.equal('alice:s3cret-pass');
    expect(hodOk(t.root, ['login', '--authfile', authfile, '--get-login', reg.host])).to.equal('alice');

    hodOk(t.root, ['push', '--tls-verify=false', '--authfile', authfile, 'app:1', `${reg.host}/alice/app:1`]);
    const other = tempRoot();
    try {
      // REGISTRY_AUTH_FILE is read like --authfile
      const id = hodOk(other.root, ['pull', '--tls-verify=false', '-q', `${reg.host}/alice/app:1`], { env: { REGISTRY_AUTH_FILE: authfile } });
      expect(id).to.equal(hodOk(t.root, ['inspect', '--format', '{{.FromImageID}}', 'app:1']));
    } finally {
      other.cleanup();
    }
    expect(sh(`skopeo inspect --tls-verify=false --authfile ${authfile} docker://${reg.host}/alice/app:1 | grep -c Digest`)).to.equal('1');

    hodOk(t.root, ['logout', '--authfile', authfile, reg.host]);
    expect(JSON.parse(fs.readFileSync(authfile, 'utf8')).auths).to.deep.equal({});
    const again = hod(t.root, ['logout', '--authfile', authfile, reg.host]);
    expect(again.status).to.equal(125);
    expect(again.stderr).to.contain(`not logged into ${reg.host}`);
  });

  it('reads credentials through a docker-credential helper named in credHelpers', function () {
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    // a real helper program, as docker-credential-pass or -secretservice would be
    fs.writeFileSync(path.join(bin, 'docker-credential-hodtest'), `#!/bin/sh\nread server\n[ "$server" = "${reg.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\necho '{"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret-pass"}'\n`, { mode: 0o755 });
    fs.writeFileSync(authfile, JSON.stringify({ credHelpers: { [reg.host]: 'hodtest' } }));
    const r = hod(t.root, ['push', '--tls-verify=false', '--authfile', authfile, 'app:1', `${reg.host}/alice/helper:1`], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.status, r.stderr).to.equal(0);
  });
});
