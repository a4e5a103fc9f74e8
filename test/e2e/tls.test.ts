import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { startRegistry, type Registry } from '../registry/server.js';

describe('a TLS registry with its own CA (certs.d)', function () {
  this.timeout(120_000);
  let reg: Registry;
  let t: ReturnType<typeof tempRoot>;
  let certs: string;

  before(async () => {
    reg = await startRegistry({ tls: true });
    t = tempRoot();
    makeBusybox(t.root, 'app:1');
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-certs-'));
  });
  after(async () => {
    await reg.stop();
    t.cleanup();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  it('refuses a certificate it cannot verify, and trusts the CA put in certs.d/<host:port>/', function () {
    const untrusted = hod(t.root, ['push', '--cert-dir', certs, 'app:1', `docker://${reg.host}/tls/app:1`]);
    expect(untrusted.status).to.equal(125);
    expect(untrusted.stderr).to.match(/cannot reach registry .*(certificate|self.signed|issuer)/i);

    fs.mkdirSync(path.join(certs, reg.host));
    fs.copyFileSync(reg.caFile!, path.join(certs, reg.host, 'ca.crt'));
    const r = hod(t.root, ['push', '--cert-dir', certs, 'app:1', `docker://${reg.host}/tls/app:1`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(sh(`skopeo inspect --cert-dir ${certs}/${reg.host} docker://${reg.host}/tls/app:1`)).Layers).to.have.length(1);

    const other = tempRoot();
    try {
      const id = hodOk(other.root, ['pull', '-q', '--cert-dir', certs, `${reg.host}/tls/app:1`]);
      expect(id).to.equal(hodOk(t.root, ['inspect', '--format', '{{.FromImageID}}', 'app:1']));
      // --tls-verify=false needs no CA and still speaks TLS to a TLS registry
      expect(hod(other.root, ['pull', '-q', '--tls-verify=false', `${reg.host}/tls/app:1`]).status).to.equal(0);
    } finally {
      other.cleanup();
    }
  });

  it('trusts the CAs of NODE_EXTRA_CA_CERTS, which bin/hod holds back from Node\'s start and passes on to what hod runs', function () {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-certs-'));
    try {
      const env = { NODE_EXTRA_CA_CERTS: reg.caFile! };
      expect(hod(t.root, ['push', '--cert-dir', empty, 'app:1', `docker://${reg.host}/tls/extra:1`]).status, 'without the variable').to.equal(125);
      const r = hod(t.root, ['push', '--cert-dir', empty, 'app:1', `docker://${reg.host}/tls/extra:1`], { env });
      expect(r.status, r.stderr).to.equal(0);
      const ctr = hodOk(t.root, ['from', 'app:1']);
      expect(hodOk(t.root, ['run', '--env', 'NODE_EXTRA_CA_CERTS', ctr, '--', 'sh', '-c', 'echo $NODE_EXTRA_CA_CERTS'], { env })).to.equal(reg.caFile);
      hodOk(t.root, ['rm', ctr]);
      const bad = hod(t.root, ['push', '--cert-dir', empty, 'app:1', `docker://${reg.host}/tls/extra:2`], { env: { NODE_EXTRA_CA_CERTS: path.join(empty, 'none.crt') } });
      expect(bad.status).to.equal(125);
      expect(bad.stderr, 'the warning Node gives for a file it cannot load').to.contain(`Ignoring extra certs from \`${path.join(empty, 'none.crt')}\``);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
