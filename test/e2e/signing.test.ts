import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { hod, hodAsync, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { startHttpServer, startRegistry, type Registry } from '../registry/server.js';
import { makeCosignKeyPair, makeGpgKey, tempDir, type CosignKeyPair, type GpgKey } from '../signature/keys.js';

const NO_TLS = '--tls-verify=false';

/**
 * Signing and trust end to end: hod signs on push and commit, skopeo (containers/image) verifies what hod
 * signed and signs what hod verifies; look-aside storage on disk (file://) and over HTTP; sigstore
 * attachments in a real registry. HOME points at a directory of the test's, so registries.d is its own.
 */
describe('signatures and trust policy (gpg, skopeo, a registry on 127.0.0.1)', function () {
  this.timeout(180_000);
  let reg: Registry;
  let store: ReturnType<typeof tempRoot>;
  let dir: string;
  let home: string;
  let lookaside: string;
  let alice: GpgKey;
  let bob: GpgKey;
  let cosign: CosignKeyPair;
  let other: CosignKeyPair;
  let env: NodeJS.ProcessEnv;

  /** A policy file: `docker` and `dir` scopes as given, everything else rejected. */
  function policy(name: string, transports: Record<string, Record<string, unknown[]>>, def: unknown[] = [{ type: 'reject' }]): string {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ default: def, transports }, null, 2));
    return file;
  }
  const gpgBy = (k: GpgKey, signedIdentity?: unknown) => ({ type: 'signedBy', keyType: 'GPGKeys', keyPath: k.publicKeyFile, ...(signedIdentity ? { signedIdentity } : {}) });
  const sigstoreBy = (k: CosignKeyPair) => ({ type: 'sigstoreSigned', keyPath: k.publicKeyFile });
  const skopeo = (args: string[]) => spawnSync('skopeo', ['--registries.d', path.join(home, '.config/containers/registries.d'), ...args], { encoding: 'utf8', env });
  const digestOf = (image: string) => JSON.parse(sh(`skopeo inspect --tls-verify=false docker://${reg.host}/${image}`)).Digest as string;

  before(async () => {
    reg = await startRegistry();
    store = tempRoot();
    dir = tempDir('hod-signing-');
    home = path.join(dir, 'home');
    lookaside = path.join(dir, 'lookaside');
    fs.mkdirSync(path.join(home, '.config/containers/registries.d'), { recursive: true });
    fs.writeFileSync(
      path.join(home, '.config/containers/registries.d/default.yaml'),
      `default-docker:\n  lookaside: file://${lookaside}\ndocker:\n  ${reg.host}:\n    lookaside: file://${lookaside}\n    use-sigstore-attachments: true\n`,
    );
    alice = makeGpgKey(dir, 'alice@example.com');
    bob = makeGpgKey(dir, 'bob@example.com');
    // one keyring that holds both secret keys, as a user with two identities has
    sh(`gpg --batch --homedir '${bob.home}' --export-secret-keys ${bob.fingerprint} | gpg --batch --homedir '${alice.home}' --import 2>/dev/null`);
    cosign = makeCosignKeyPair(dir, 'cosign', 'swordfish');
    other = makeCosignKeyPair(dir, 'other', 'x');
    env = { HOME: home, GNUPGHOME: alice.home };
    makeBusybox(store.root, 'app:1');
  });
  after(async () => {
    await reg.stop();
    store.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('push --sign-by: the signature lands in look-aside storage, and skopeo accepts the image under a policy that requires it', () => {
    const r = hod(store.root, ['push', NO_TLS, '--sign-by', alice.fingerprint, 'app:1', `docker://${reg.host}/team/app:1`], { env });
    expect(r.status, r.stderr).to.equal(0);
    const digest = digestOf('team/app:1');
    expect(fs.existsSync(path.join(lookaside, `team/app@${digest.replace(':', '=')}/signature-1`))).to.equal(true);
    const trusting = policy('skopeo-alice', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
    const ok = skopeo(['--policy', trusting, 'copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:1`, `dir:${path.join(dir, 'out-ok')}`]);
    expect(ok.status, ok.stderr).to.equal(0);
    const distrusting = policy('skopeo-bob', { docker: { [`${reg.host}/team`]: [gpgBy(bob)] } });
    const refused = skopeo(['--policy', distrusting, 'copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:1`, `dir:${path.join(dir, 'out-no')}`]);
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.match(/rejected/i);
  });

  it('a second signer adds a second signature beside the first', () => {
    hodOk(store.root, ['push', NO_TLS, '--sign-by', bob.fingerprint, 'app:1', `docker://${reg.host}/team/app:1`], { env });
    const at = path.join(lookaside, `team/app@${digestOf('team/app:1').replace(':', '=')}`);
    expect(fs.readdirSync(at).sort()).to.deep.equal(['signature-1', 'signature-2']);
    for (const k of [alice, bob]) {
      const p = policy(`skopeo-${k.fingerprint}`, { docker: { [`${reg.host}/team/app`]: [gpgBy(k)] } });
      const r = skopeo(['--policy', p, 'copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:1`, `dir:${path.join(dir, `two-${k.fingerprint}`)}`]);
      expect(r.status, r.stderr).to.equal(0);
    }
  });

  it('commit --sign-by keeps the signature with the image, and push to dir: carries it where skopeo checks it', () => {
    const c = hodOk(store.root, ['from', 'app:1']);
    fs.writeFileSync(path.join(hodOk(store.root, ['mount', c]), 'new'), 'x');
    hodOk(store.root, ['commit', '--rm', '--sign-by', alice.fingerprint, c, 'app:2'], { env });
    const out = path.join(dir, 'app-signed');
    hodOk(store.root, ['push', 'app:2', `dir:${out}`], { env });
    expect(fs.existsSync(path.join(out, 'signature-1'))).to.equal(true);
    const p = policy('dir-alice', { dir: { '': [gpgBy(alice, { type: 'exactReference', dockerReference: 'localhost/app:2' })] } });
    const ok = skopeo(['--policy', p, 'copy', `dir:${out}`, `dir:${path.join(dir, 'app-copied')}`]);
    expect(ok.status, ok.stderr).to.equal(0);
    const wrongName = policy('dir-other-name', { dir: { '': [gpgBy(alice, { type: 'exactReference', dockerReference: 'localhost/app:3' })] } });
    expect(skopeo(['--policy', wrongName, 'copy', `dir:${out}`, `dir:${path.join(dir, 'app-copied-2')}`]).status).to.not.equal(0);

    const bare = path.join(dir, 'app-unsigned');
    hodOk(store.root, ['push', '--remove-signatures', 'app:2', `dir:${bare}`], { env });
    expect(fs.readdirSync(bare).filter((n) => n.startsWith('signature'))).to.deep.equal([]);
  });

  it('bud --sign-by signs the built image as its tag; a wrong passphrase stops the build before its first step', () => {
    const ctx = path.join(dir, 'bud-ctx');
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM app:1\nRUN echo built > /built\n');
    hodOk(store.root, ['bud', '--sign-by', alice.fingerprint, '-t', 'built:1', ctx], { env });
    const out = path.join(dir, 'built-dir');
    hodOk(store.root, ['push', 'built:1', `dir:${out}`], { env });
    const p = policy('dir-built', { dir: { '': [gpgBy(alice, { type: 'exactReference', dockerReference: 'localhost/built:1' })] } });
    const ok = skopeo(['--policy', p, 'copy', `dir:${out}`, `dir:${path.join(dir, 'built-copied')}`]);
    expect(ok.status, ok.stderr).to.equal(0);

    const wrong = path.join(dir, 'bud-wrong.pass');
    fs.writeFileSync(wrong, 'nope\n');
    const r = hod(store.root, ['bud', '--sign-by-sigstore-private-key', cosign.privateKeyFile, '--sign-passphrase-file', wrong, '-t', 'built:2', ctx], { env });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/wrong passphrase/).and.not.match(/STEP 1/);
    expect(hod(store.root, ['inspect', 'built:2']).status).to.not.equal(0);
  });

  it('push --sign-by-sigstore-private-key attaches the signature in the registry as sha256-DIGEST.sig', () => {
    hodOk(store.root, ['push', NO_TLS, '--sign-by-sigstore-private-key', cosign.privateKeyFile, '--sign-passphrase-file', cosign.passphraseFile, 'app:1', `docker://${reg.host}/team/sig:1`], { env });
    const digest = digestOf('team/sig:1');
    const att = JSON.parse(sh(`skopeo inspect --raw --tls-verify=false docker://${reg.host}/team/sig:${digest.replace(':', '-')}.sig`));
    expect(att.layers).to.have.length(1);
    expect(att.layers[0].mediaType).to.equal('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(att.layers[0].annotations).to.have.property('dev.cosignproject.cosign/signature');
  });

  it('a wrong passphrase fails before anything is pushed', () => {
    const wrong = path.join(dir, 'wrong.pass');
    fs.writeFileSync(wrong, 'nope\n');
    const r = hod(store.root, ['push', NO_TLS, '--sign-by-sigstore-private-key', cosign.privateKeyFile, '--sign-passphrase-file', wrong, 'app:1', `docker://${reg.host}/team/never:1`], { env });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/cosign\.key: wrong passphrase/);
    expect(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/never:1`]).status).to.not.equal(0);
  });

  it('refuses to sign for a destination that cannot keep signatures', () => {
    const r = hod(store.root, ['push', '--sign-by', alice.fingerprint, 'app:1', `oci:${path.join(dir, 'layout')}:app`], { env });
    expect(r.status).to.equal(125);
    expect(r.stderr).to.match(/cannot keep simple-signing signatures/);
    expect(fs.existsSync(path.join(dir, 'layout', 'index.json'))).to.equal(false);
  });

  describe('pulls under a policy', () => {
    let b: ReturnType<typeof tempRoot>;
    beforeEach(() => (b = tempRoot()));
    afterEach(() => b.cleanup());

    const blobCount = (root: string) => (fs.existsSync(path.join(root, 'blobs/sha256')) ? fs.readdirSync(path.join(root, 'blobs/sha256')).length : 0);
    /** A pull that the policy must refuse: exit 125, the message matches, and the store gained nothing. */
    function refused(args: string[], pattern: RegExp, e: NodeJS.ProcessEnv = env): string {
      const before = blobCount(b.root);
      const r = hod(b.root, ['pull', NO_TLS, ...args], { env: e });
      expect(r.status, r.stderr).to.equal(125);
      expect(r.stderr).to.match(pattern);
      expect(blobCount(b.root), 'no blob of a refused image is stored').to.equal(before);
      expect(hodOk(b.root, ['images', '-q'])).to.equal('');
      return r.stderr;
    }

    it('accepts what skopeo signed, and keeps the signature for the next push', () => {
      const layout = path.join(dir, 'sk-layout');
      hodOk(store.root, ['push', 'app:1', `oci:${layout}:app`]);
      const s = skopeo(['copy', '--dest-tls-verify=false', '--sign-by', alice.fingerprint, `oci:${layout}:app`, `docker://${reg.host}/team/skopeo:1`]);
      expect(s.status, s.stderr).to.equal(0);
      const p = policy('alice', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
      hodOk(b.root, ['pull', NO_TLS, '--signature-policy', p, `${reg.host}/team/skopeo:1`], { env });
      const out = path.join(dir, 'from-store');
      hodOk(b.root, ['push', `${reg.host}/team/skopeo:1`, `dir:${out}`], { env });
      expect(fs.existsSync(path.join(out, 'signature-1'))).to.equal(true);
    });

    it('refuses an unsigned image, naming the policy and the scope, and stores nothing', () => {
      hodOk(store.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/team/unsigned:1`]);
      const p = policy('unsigned', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
      const err = refused(['--signature-policy', p, `${reg.host}/team/unsigned:1`], /no signature/);
      expect(err).to.include(p).and.include(`docker scope "${reg.host}/team"`);
      const f = hod(b.root, ['from', NO_TLS, '--signature-policy', p, `${reg.host}/team/unsigned:1`], { env });
      expect(f.status).to.equal(125);
      expect(hodOk(b.root, ['containers', '-q'])).to.equal('');
    });

    it('refuses a signature made for another manifest', () => {
      hodOk(store.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/team/moved:1`]);
      const c = hodOk(store.root, ['from', 'app:1']);
      fs.writeFileSync(path.join(hodOk(store.root, ['mount', c]), 'other'), 'y');
      hodOk(store.root, ['commit', '--rm', c, 'moved:2']);
      hodOk(store.root, ['push', NO_TLS, 'moved:2', `docker://${reg.host}/team/moved:2`]);
      // team/app:1's valid signature, put where team/moved:2's would be
      const from = path.join(lookaside, `team/app@${digestOf('team/app:1').replace(':', '=')}`, 'signature-1');
      const to = path.join(lookaside, `team/moved@${digestOf('team/moved:2').replace(':', '=')}`);
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(from, path.join(to, 'signature-1'));
      const p = policy('moved', { docker: { [`${reg.host}/team`]: [gpgBy(alice, { type: 'matchRepository' })] } });
      refused(['--signature-policy', p, `${reg.host}/team/moved:2`], new RegExp(`${digestOf('team/app:1')}.*${digestOf('team/moved:2')}|${digestOf('team/moved:2')}.*${digestOf('team/app:1')}`, 's'));
    });

    it('refuses a key the policy does not trust', () => {
      const p = policy('bob-only', { docker: { [`${reg.host}/team/skopeo`]: [gpgBy(bob)] } });
      refused(['--signature-policy', p, `${reg.host}/team/skopeo:1`], /not one of the keys the policy trusts/);
    });

    it('refuses a signature whose payload was altered', () => {
      hodOk(store.root, ['push', NO_TLS, 'app:1', `docker://${reg.host}/team/tamper:1`]);
      const digest = digestOf('team/tamper:1');
      const payload = JSON.stringify({ critical: { identity: { 'docker-reference': `${reg.host}/team/tamper:1` }, image: { 'docker-manifest-digest': digest }, type: 'atomic container signature' }, optional: {} });
      const signed = spawnSync('gpg', ['--batch', '--homedir', alice.home, '--compress-algo', 'none', '--sign', '--local-user', alice.fingerprint], { input: payload }).stdout;
      const altered = Buffer.from(signed);
      altered.write('tampe2', altered.indexOf(Buffer.from('tamper:1')));
      const at = path.join(lookaside, `team/tamper@${digest.replace(':', '=')}`);
      fs.mkdirSync(at, { recursive: true });
      fs.writeFileSync(path.join(at, 'signature-1'), altered);
      const p = policy('tamper', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
      refused(['--signature-policy', p, `${reg.host}/team/tamper:1`], /altered/);
    });

    it('refuses a signature that names another image', () => {
      hodOk(store.root, ['push', NO_TLS, '--sign-by', alice.fingerprint, '--sign-identity', `${reg.host}/team/elsewhere:1`, 'app:1', `docker://${reg.host}/team/named:1`], { env });
      const p = policy('named', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
      refused(['--signature-policy', p, `${reg.host}/team/named:1`], new RegExp(`${reg.host}/team/elsewhere:1`));
      const remap = policy('named-ok', { docker: { [`${reg.host}/team`]: [gpgBy(alice, { type: 'exactRepository', dockerRepository: `${reg.host}/team/elsewhere` })] } });
      hodOk(b.root, ['pull', NO_TLS, '--signature-policy', remap, `${reg.host}/team/named:1`], { env });
    });

    it('accepts a sigstore signature from the registry\'s attachment, and refuses it under another key', () => {
      const mine = policy('sig-ok', { docker: { [`${reg.host}/team/sig`]: [sigstoreBy(cosign)] } });
      const theirs = policy('sig-no', { docker: { [`${reg.host}/team/sig`]: [sigstoreBy(other)] } });
      refused(['--signature-policy', theirs, `${reg.host}/team/sig:1`], /does not verify with the trusted public key/);
      hodOk(b.root, ['pull', NO_TLS, '--signature-policy', mine, `${reg.host}/team/sig:1`], { env });
    });

    it('reads look-aside signatures over HTTP', async () => {
      const server = await startHttpServer((req, res) => {
        const file = path.join(lookaside, decodeURIComponent(req.url!.split('?')[0]));
        if (!file.startsWith(lookaside + '/') || !fs.existsSync(file)) return void res.writeHead(404).end();
        res.writeHead(200).end(fs.readFileSync(file));
      });
      try {
        const home2 = path.join(dir, 'home-http');
        fs.mkdirSync(path.join(home2, '.config/containers/registries.d'), { recursive: true });
        fs.writeFileSync(path.join(home2, '.config/containers/registries.d/web.yaml'), `docker:\n  ${reg.host}/team:\n    lookaside: ${server.url}/\n    lookaside-staging: file://${lookaside}\n`);
        const p = policy('http', { docker: { [`${reg.host}/team`]: [gpgBy(alice)] } });
        // not spawnSync: this process serves the look-aside storage
        const r = await hodAsync(b.root, ['pull', NO_TLS, '--signature-policy', p, `${reg.host}/team/app:1`], { env: { ...env, HOME: home2 } });
        expect(r.status, r.stderr).to.equal(0);
        expect(server.requests.some((r) => /^GET \/team\/app@sha256=[0-9a-f]{64}\/signature-1$/.test(r)), server.requests.join('\n')).to.equal(true);
      } finally {
        await server.stop();
      }
    });

    it('says where a policy file does not parse', () => {
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{\n  "default": [\n    { "type": "reject" },\n  ]\n}\n');
      refused(['--signature-policy', bad, `${reg.host}/team/app:1`], new RegExp(`${bad}:4:3`));
    });

    it('a reject default refuses, and insecureAcceptAnything for a scope lets that scope in', () => {
      const p = policy('mixed', { docker: { [`${reg.host}/team/unsigned`]: [{ type: 'insecureAcceptAnything' }] } });
      refused(['--signature-policy', p, `${reg.host}/team/moved:1`], /\(default\): the policy rejects every image here/);
      hodOk(b.root, ['pull', NO_TLS, '--signature-policy', p, `${reg.host}/team/unsigned:1`], { env });
    });
  });
});
