import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { signatureFromBlob, signatureToBlob } from '../../lib/signature/blob.js';
import { gpgSign, verifySimpleSigning } from '../../lib/signature/gpg.js';
import { makePayload, parsePayload } from '../../lib/signature/payload.js';
import { loadSigstorePrivateKey } from '../../lib/signature/sigstore-key.js';
import { signSigstore, verifySigstore } from '../../lib/signature/sigstore.js';
import { SIGSTORE_PAYLOAD_TYPE, SIGSTORE_SIGNATURE_ANNOTATION, SIMPLE_SIGNING_TYPE, SignatureError, type Signature } from '../../lib/signature/types.js';
import { makeCosignKeyPair, makeGpgKey, tempDir, type CosignKeyPair, type GpgKey } from './keys.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const IDENTITY = 'registry.example.com/team/app:1';
type Sigstore = Extract<Signature, { format: 'sigstore-json' }>;

async function rejects(p: Promise<unknown> | (() => unknown), reason: SignatureError['reason'], pattern: RegExp): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).to.be.instanceOf(SignatureError);
    expect((err as SignatureError).reason, (err as Error).message).to.equal(reason);
    expect((err as Error).message).to.match(pattern);
    return;
  }
  expect.fail('expected a SignatureError');
}

describe('signature payloads', () => {
  it('round-trips the fields containers/image writes', () => {
    const p = parsePayload(makePayload(SIMPLE_SIGNING_TYPE, IDENTITY, DIGEST, { creator: 'hod 1', timestamp: 5 }), SIMPLE_SIGNING_TYPE);
    expect(p).to.deep.equal({ type: SIMPLE_SIGNING_TYPE, dockerReference: IDENTITY, manifestDigest: DIGEST, creator: 'hod 1', timestamp: 5 });
  });

  const bad: [string, unknown, RegExp][] = [
    ['another type', { critical: { type: 'x', image: { 'docker-manifest-digest': DIGEST }, identity: { 'docker-reference': IDENTITY } } }, /type "x"/],
    ['an unknown critical field', { critical: { type: SIMPLE_SIGNING_TYPE, image: { 'docker-manifest-digest': DIGEST }, identity: { 'docker-reference': IDENTITY }, extra: 1 } }, /unexpected field "extra"/],
    ['no identity', { critical: { type: SIMPLE_SIGNING_TYPE, image: { 'docker-manifest-digest': DIGEST } } }, /lacks "identity"/],
    ['a digest that is not a string', { critical: { type: SIMPLE_SIGNING_TYPE, image: { 'docker-manifest-digest': 5 }, identity: { 'docker-reference': IDENTITY } } }, /not a string/],
    ['not an object', [1], /not a JSON object/],
  ];
  for (const [what, doc, pattern] of bad) {
    it(`refuses ${what}`, () => rejects(() => parsePayload(Buffer.from(JSON.stringify(doc)), SIMPLE_SIGNING_TYPE), 'invalid', pattern));
  }
  it('accepts cosign\'s null "optional"', () => {
    const doc = { critical: { type: SIGSTORE_PAYLOAD_TYPE, image: { 'docker-manifest-digest': DIGEST }, identity: { 'docker-reference': IDENTITY } }, optional: null };
    expect(parsePayload(Buffer.from(JSON.stringify(doc)), SIGSTORE_PAYLOAD_TYPE).manifestDigest).to.equal(DIGEST);
  });
});

describe('signature blobs (dir: signature-N)', () => {
  it('keeps OpenPGP bytes as they are and prefixes other formats', () => {
    const simple: Signature = { format: 'simple-signing', bytes: Buffer.from([0xa3, 1, 2]) };
    expect(signatureToBlob(simple)).to.deep.equal(simple.bytes);
    expect(signatureFromBlob(simple.bytes, 'x')).to.deep.equal(simple);
    const sig: Signature = { format: 'sigstore-json', mimeType: 'm', payload: Buffer.from('{}'), annotations: { a: 'b' } };
    const blob = signatureToBlob(sig);
    expect(blob.subarray(0, 15).toString('latin1')).to.equal('\0sigstore-json\n');
    expect(signatureFromBlob(blob, 'x')).to.deep.equal(sig);
  });
  it('names an unknown format', () => rejects(() => signatureFromBlob(Buffer.from('\0cosign-v9\n{}'), 'dir:/x: signature-1'), 'invalid', /signature-1: unrecognized signature format "cosign-v9"/));
});

describe('GPG simple signing (gpg with throwaway keyrings)', function () {
  this.timeout(60_000);
  let dir: string;
  let alice: GpgKey;
  let mallory: GpgKey;
  let signed: Buffer;
  const home = process.env.GNUPGHOME;

  before(async () => {
    dir = tempDir('hod-gpg-test-');
    alice = makeGpgKey(dir, 'alice@example.com');
    mallory = makeGpgKey(dir, 'mallory@example.com');
    process.env.GNUPGHOME = alice.home;
    signed = await gpgSign(makePayload(SIMPLE_SIGNING_TYPE, IDENTITY, DIGEST), alice.fingerprint);
  });
  after(() => {
    if (home === undefined) delete process.env.GNUPGHOME;
    else process.env.GNUPGHOME = home;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('signs a payload that gpg itself reads back', () => {
    const out = execFileSync('gpg', ['--batch', '--homedir', alice.home, '--decrypt'], { input: signed, stdio: ['pipe', 'pipe', 'ignore'] });
    expect(parsePayload(out, SIMPLE_SIGNING_TYPE).dockerReference).to.equal(IDENTITY);
  });
  it('verifies with the trusted key from a file and from inline data', async () => {
    const v = await verifySimpleSigning(signed, { paths: [alice.publicKeyFile], data: [] });
    expect(v).to.deep.equal({ dockerReference: IDENTITY, manifestDigest: DIGEST, key: alice.fingerprint });
    const inline = await verifySimpleSigning(signed, { paths: [], data: [fs.readFileSync(alice.publicKeyFile)] });
    expect(inline.key).to.equal(alice.fingerprint);
  });
  it('refuses a signature by a key the policy does not trust', () =>
    rejects(verifySimpleSigning(signed, { paths: [mallory.publicKeyFile], data: [] }), 'key', new RegExp(`signed by GPG key ${alice.fingerprint.slice(-16)}, which is not one of the keys the policy trusts`)));
  it('refuses a signed message whose content was altered', async () => {
    // an uncompressed signed message, so the payload's bytes can be changed in place
    const plain = execFileSync('gpg', ['--batch', '--homedir', alice.home, '--compress-algo', 'none', '--sign', '--local-user', alice.fingerprint], { input: makePayload(SIMPLE_SIGNING_TYPE, IDENTITY, DIGEST) });
    const at = plain.indexOf(Buffer.from('team/app'));
    const tampered = Buffer.from(plain);
    tampered.write('evil/app', at);
    await rejects(verifySimpleSigning(tampered, { paths: [alice.publicKeyFile], data: [] }), 'key', /does not match what it signs: the payload was altered/);
  });
  it('refuses bytes that are no signature', () => rejects(verifySimpleSigning(Buffer.from([0xa3, 0x01, 0x02, 0x03]), { paths: [alice.publicKeyFile], data: [] }), 'invalid', /OpenPGP|damaged/));
  it('names the key that cannot sign', () => rejects(gpgSign(Buffer.from('{}'), 'nobody@example.com'), 'sign', /signing with GPG key nobody@example.com/));
  it('names a key file that is not there', () => rejects(verifySimpleSigning(signed, { paths: [path.join(dir, 'none.gpg')], data: [] }), 'policy', /none\.gpg: no such file/));
});

describe('sigstore signatures (cosign key pairs; openssl as the independent checker)', () => {
  let dir: string;
  let pair: CosignKeyPair;
  let other: CosignKeyPair;
  let sig: Sigstore;

  before(() => {
    dir = tempDir('hod-sigstore-test-');
    pair = makeCosignKeyPair(dir, 'cosign', 'correct horse');
    other = makeCosignKeyPair(dir, 'other', 'x', 'ENCRYPTED COSIGN PRIVATE KEY');
    const key = loadSigstorePrivateKey(fs.readFileSync(pair.privateKeyFile), Buffer.from('correct horse'), pair.privateKeyFile);
    sig = signSigstore(key, IDENTITY, DIGEST, { creator: 'hod test' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs so that openssl verifies the payload with the public key', () => {
    fs.writeFileSync(path.join(dir, 'payload'), sig.payload);
    fs.writeFileSync(path.join(dir, 'sig.der'), Buffer.from(sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION], 'base64'));
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', pair.publicKeyFile, '-signature', path.join(dir, 'sig.der'), path.join(dir, 'payload')], { encoding: 'utf8' });
    expect(out).to.match(/Verified OK/);
  });
  it('verifies what openssl signed', () => {
    const pkcs8 = path.join(dir, 'plain.pem');
    const key = loadSigstorePrivateKey(fs.readFileSync(pair.privateKeyFile), Buffer.from('correct horse'), 'k');
    fs.writeFileSync(pkcs8, key.export({ format: 'pem', type: 'pkcs8' }));
    const payload = makePayload(SIGSTORE_PAYLOAD_TYPE, IDENTITY, DIGEST);
    fs.writeFileSync(path.join(dir, 'p2'), payload);
    const der = execFileSync('openssl', ['dgst', '-sha256', '-sign', pkcs8, path.join(dir, 'p2')]);
    const v = verifySigstore({ ...sig, payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: der.toString('base64') } }, { paths: [pair.publicKeyFile], data: [] });
    expect(v).to.deep.equal({ dockerReference: IDENTITY, manifestDigest: DIGEST, key: pair.publicKeyFile });
  });
  it('reads both PEM names cosign has used', () => {
    expect(loadSigstorePrivateKey(fs.readFileSync(other.privateKeyFile), Buffer.from('x'), 'k').asymmetricKeyType).to.equal('ec');
  });
  it('says the passphrase is wrong', () => rejects(() => loadSigstorePrivateKey(fs.readFileSync(pair.privateKeyFile), Buffer.from('wrong'), pair.privateKeyFile), 'sign', /cosign\.key: wrong passphrase$/));
  it('says when a file is no cosign key', () => rejects(() => loadSigstorePrivateKey(fs.readFileSync(pair.publicKeyFile), Buffer.from(''), 'pub'), 'sign', /pub: not a cosign private key/));
  it('refuses another key\'s signature, and an altered payload', async () => {
    await rejects(() => verifySigstore(sig, { paths: [other.publicKeyFile], data: [] }), 'key', /does not verify with the trusted public key \(.*other\.pub\)/);
    const altered = { ...sig, payload: Buffer.from(sig.payload.toString().replace('team/app', 'evil/app')) };
    await rejects(() => verifySigstore(altered, { paths: [pair.publicKeyFile], data: [] }), 'key', /made with another key, or its payload was altered/);
  });
  it('refuses a signature without its annotation', () => rejects(() => verifySigstore({ ...sig, annotations: {} }, { paths: [pair.publicKeyFile], data: [] }), 'invalid', /without its dev\.cosignproject\.cosign\/signature annotation/));
});
