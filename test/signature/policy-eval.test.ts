import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { checkImage, type PolicyImage, type Verifiers } from '../../lib/signature/policy-eval.js';
import { loadPolicy } from '../../lib/signature/policy.js';
import {
  SIGSTORE_MIME_TYPE,
  SIGSTORE_PAYLOAD_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SignatureError,
  type KeySet,
  type Signature,
  type VerifiedSignature,
} from '../../lib/signature/types.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const REF = '127.0.0.1:5000/team/app:1';

interface KeyPair {
  privateKey: crypto.KeyObject;
  pem: string;
}
const newKey = (): KeyPair => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};

const payload = (ref: string, digest: string): Buffer =>
  Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': ref }, image: { 'docker-manifest-digest': digest }, type: SIGSTORE_PAYLOAD_TYPE }, optional: {} }));

/** A cosign signature: ECDSA P-256 over the payload, DER, base64 in the annotation. */
function cosignSign(key: KeyPair, ref: string, digest: string): Signature {
  const bytes = payload(ref, digest);
  const sig = crypto.sign('sha256', bytes, key.privateKey).toString('base64');
  return { format: 'sigstore-json', mimeType: SIGSTORE_MIME_TYPE, payload: bytes, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: sig } };
}

/**
 * A stand-in for an OpenPGP message (gpg.ts is not this file's subject): the same ECDSA check over the payload,
 * carried as JSON, so that signedBy requirements are also decided by real cryptography.
 */
function envelopeSign(key: KeyPair, ref: string, digest: string): Signature {
  const bytes = payload(ref, digest);
  const sig = crypto.sign('sha256', bytes, key.privateKey).toString('base64');
  return { format: 'simple-signing', bytes: Buffer.from(JSON.stringify({ payload: bytes.toString('base64'), sig })) };
}

/** Verifies with every trusted public key in turn, as the real verifiers do, and reads the payload only then. */
function verifyWith(keys: KeySet, bytes: Buffer, sig: Buffer, kind: string): VerifiedSignature {
  const pems = [...keys.paths.map((p) => fs.readFileSync(p)), ...keys.data];
  for (const pem of pems) {
    const key = crypto.createPublicKey(pem);
    if (crypto.verify('sha256', bytes, key, sig)) {
      const p = JSON.parse(bytes.toString());
      const fingerprint = crypto.createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
      return { dockerReference: p.critical.identity['docker-reference'], manifestDigest: p.critical.image['docker-manifest-digest'], key: fingerprint };
    }
  }
  throw new SignatureError('key', `the ${kind} signature was not made by any trusted key, or its payload was altered after signing`);
}

const verifiers: Verifiers = {
  async simpleSigning(bytes, keys) {
    const envelope = JSON.parse(bytes.toString());
    return verifyWith(keys, Buffer.from(envelope.payload, 'base64'), Buffer.from(envelope.sig, 'base64'), 'simple signing');
  },
  sigstore(sig, keys) {
    const b64 = sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
    if (!b64) throw new SignatureError('invalid', 'the sigstore signature has no signature annotation');
    return verifyWith(keys, sig.payload, Buffer.from(b64, 'base64'), 'sigstore');
  },
};

describe('signature/policy-eval', () => {
  let dir: string;
  let policyFile: string;
  const trusted = newKey();
  const other = newKey();
  const untrusted = newKey();

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-policy-eval-'));
    fs.writeFileSync(path.join(dir, 'trusted.pub'), trusted.pem);
    policyFile = path.join(dir, 'policy.json');
    const cosign = (extra: object = {}) => ({ type: 'sigstoreSigned', keyPath: 'trusted.pub', ...extra });
    fs.writeFileSync(
      policyFile,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            '127.0.0.1:5000/open': [{ type: 'insecureAcceptAnything' }],
            '127.0.0.1:5000/team': [cosign()],
            '127.0.0.1:5000/inline': [{ type: 'sigstoreSigned', keyDatas: [Buffer.from(other.pem).toString('base64'), Buffer.from(trusted.pem).toString('base64')] }],
            '127.0.0.1:5000/gpg': [{ type: 'signedBy', keyType: 'GPGKeys', keyData: Buffer.from(trusted.pem).toString('base64') }],
            '127.0.0.1:5000/both': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: 'trusted.pub' }, cosign()],
            '127.0.0.1:5000/lost-key': [{ type: 'sigstoreSigned', keyPath: 'missing.pub' }],
          },
          dir: {
            '/srv/exact': [cosign({ signedIdentity: { type: 'exactReference', dockerReference: REF } })],
            '/srv/default': [cosign()],
          },
        },
      }),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A docker image pulled as `ref`; `calls` counts signature fetches. */
  function image(ref: string, digest: string, sigs: Signature[]): PolicyImage & { calls: number } {
    const repo = ref.replace(/[:@][^/]*$/, '');
    const scopes = [ref, repo, repo.slice(0, repo.lastIndexOf('/')), '127.0.0.1:5000'];
    const img = {
      transport: 'docker',
      scopes,
      description: `docker://${ref}`,
      dockerReference: ref,
      manifestDigest: digest,
      calls: 0,
      signatures: async () => {
        img.calls++;
        return sigs;
      },
    };
    return img;
  }

  async function refusal(img: PolicyImage): Promise<SignatureError> {
    try {
      await checkImage(policyFile, loadPolicy(policyFile), img, verifiers);
    } catch (e) {
      expect(e).to.be.instanceOf(SignatureError);
      return e as SignatureError;
    }
    throw new Error(`${img.description} was accepted`);
  }
  const check = (img: PolicyImage) => checkImage(policyFile, loadPolicy(policyFile), img, verifiers);

  it('accepts an image signed by a trusted key for its digest and reference', async () => {
    const img = image(REF, D1, [cosignSign(trusted, REF, D1)]);
    await check(img);
    expect(img.calls).to.equal(1);
  });

  it('accepts when one of several signatures is good', async () => {
    await check(image(REF, D1, [cosignSign(untrusted, REF, D1), cosignSign(trusted, REF, D2), cosignSign(trusted, REF, D1)]));
  });

  it('tries every key of the requirement (keyDatas), and takes inline keys', async () => {
    const ref = '127.0.0.1:5000/inline/app:1';
    await check(image(ref, D1, [cosignSign(trusted, ref, D1)]));
    await check(image(ref, D1, [cosignSign(other, ref, D1)]));
    expect((await refusal(image(ref, D1, [cosignSign(untrusted, ref, D1)]))).reason).to.equal('key');
  });

  it('accepts insecureAcceptAnything without fetching signatures', async () => {
    const img = image('127.0.0.1:5000/open/app:1', D1, []);
    img.signatures = () => Promise.reject(new Error('signatures() must not be called'));
    await check(img);
  });

  it('rejects by policy without fetching signatures, naming the file and the scope', async () => {
    const img = image('quay.io/x/app:1', D1, [cosignSign(trusted, 'quay.io/x/app:1', D1)]);
    const e = await refusal(img);
    expect(e.reason).to.equal('rejected');
    expect(e.message).to.equal(`docker://quay.io/x/app:1 is not allowed by ${policyFile} (default): the policy rejects every image here`);
    expect(img.calls).to.equal(0);
  });

  it('refuses an unsigned image', async () => {
    const e = await refusal(image(REF, D1, []));
    expect(e.reason).to.equal('unsigned');
    expect(e.message).to.equal(`docker://${REF} is not allowed by ${policyFile} (docker scope "127.0.0.1:5000/team"): a sigstore signature is required, but the image has no signatures`);
  });

  it('refuses an image whose signatures are all of another format', async () => {
    const attachment: Signature = { format: 'sigstore-json', mimeType: 'application/vnd.in-toto+json', payload: Buffer.from('{}'), annotations: {} };
    const e = await refusal(image(REF, D1, [envelopeSign(trusted, REF, D1), attachment]));
    expect(e.reason).to.equal('unsigned');
    expect(e.message).to.match(/a sigstore signature is required, but the image has only 1 simple signing \(GPG\) signature and 1 sigstore attachment that is not a signature$/);
  });

  it('refuses a signature for another manifest, naming both digests', async () => {
    const e = await refusal(image(REF, D1, [cosignSign(trusted, REF, D2)]));
    expect(e.reason).to.equal('digest');
    expect(e.message).to.match(new RegExp(`the signature by [0-9a-f]{16} is for manifest ${D2}, but the image's manifest is ${D1}$`));
  });

  it('refuses a signature by an untrusted key, with the verifier\'s words', async () => {
    const e = await refusal(image(REF, D1, [cosignSign(untrusted, REF, D1)]));
    expect(e.reason).to.equal('key');
    expect(e.message).to.match(/\(docker scope "127.0.0.1:5000\/team"\): the sigstore signature was not made by any trusted key, or its payload was altered after signing$/);
  });

  it('refuses a trusted signature whose payload was altered', async () => {
    const sig = cosignSign(trusted, REF, D2) as Extract<Signature, { format: 'sigstore-json' }>;
    const forged = { ...sig, payload: payload(REF, D1) };
    expect((await refusal(image(REF, D1, [forged]))).reason).to.equal('key');
  });

  it('refuses a signature for another identity, naming both and the rule', async () => {
    const e = await refusal(image(REF, D1, [cosignSign(trusted, '127.0.0.1:5000/team/app:2', D1)]));
    expect(e.reason).to.equal('identity');
    expect(e.message).to.match(
      /the signature by [0-9a-f]{16} is for "127.0.0.1:5000\/team\/app:2", which does not match the image's reference "127.0.0.1:5000\/team\/app:1" under signedIdentity matchRepoDigestOrExact: the references differ$/,
    );
  });

  it('lists why each of several signatures failed, the most telling first, and takes its reason', async () => {
    const e = await refusal(image(REF, D1, [cosignSign(untrusted, REF, D1), cosignSign(trusted, REF, D2), cosignSign(trusted, 'other.example.com/app:1', D1)]));
    expect(e.reason).to.equal('identity');
    const lines = e.message.split('\n');
    expect(lines[0]).to.match(/: none of the image's 3 sigstore signatures is accepted:$/);
    expect(lines.slice(1).map((l) => /^ {2}signature (\d): (.*)$/.exec(l)?.slice(1, 2)[0])).to.deep.equal(['3', '2', '1']);
    expect(lines[1]).to.contain('"other.example.com/app:1"');
    expect(lines[2]).to.contain(`is for manifest ${D2}`);
    expect(lines[3]).to.contain('not made by any trusted key');
  });

  it('lists at most four failures', async () => {
    const e = await refusal(image(REF, D1, Array.from({ length: 6 }, () => cosignSign(untrusted, REF, D1))));
    expect(e.message.split('\n')).to.have.length(6);
    expect(e.message).to.match(/\n {2}and 2 more$/);
  });

  it('checks signedBy with simple signing signatures', async () => {
    const ref = '127.0.0.1:5000/gpg/app:1';
    await check(image(ref, D1, [envelopeSign(trusted, ref, D1)]));
    const e = await refusal(image(ref, D1, [cosignSign(trusted, ref, D1)]));
    expect(e.reason).to.equal('unsigned');
    expect(e.message).to.match(/a simple signing \(GPG\) signature is required, but the image has only 1 sigstore signature$/);
  });

  it('needs every requirement of the scope, and fetches signatures once', async () => {
    const ref = '127.0.0.1:5000/both/app:1';
    const both = image(ref, D1, [envelopeSign(trusted, ref, D1), cosignSign(trusted, ref, D1)]);
    await check(both);
    expect(both.calls).to.equal(1);
    const e = await refusal(image(ref, D1, [cosignSign(trusted, ref, D1)]));
    expect(e.reason).to.equal('unsigned');
  });

  it('passes on errors that are not about a signature (a key file that is gone)', async () => {
    const ref = '127.0.0.1:5000/lost-key/app:1';
    let err: unknown;
    await check(image(ref, D1, [cosignSign(trusted, ref, D1)])).catch((e) => (err = e));
    expect(err).to.not.be.instanceOf(SignatureError);
    expect((err as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  describe('images without a Docker reference (dir:)', () => {
    const dirImage = (scope: string, sigs: Signature[]): PolicyImage => ({
      transport: 'dir',
      scopes: [`${scope}/app`, scope, '/srv'],
      description: `dir:${scope}/app`,
      manifestDigest: D1,
      signatures: async () => sigs,
    });

    it('are accepted under exactReference', async () => {
      await check(dirImage('/srv/exact', [cosignSign(trusted, REF, D1)]));
      expect((await refusal(dirImage('/srv/exact', [cosignSign(trusted, '127.0.0.1:5000/team/app:2', D1)]))).reason).to.equal('identity');
    });

    it('cannot match a rule that compares with the image reference', async () => {
      const e = await refusal(dirImage('/srv/default', [cosignSign(trusted, REF, D1)]));
      expect(e.reason).to.equal('identity');
      expect(e.message).to.contain('(dir scope "/srv/default")');
      expect(e.message).to.contain('does not match the image (which has no Docker reference) under signedIdentity matchRepoDigestOrExact');
    });
  });
});
