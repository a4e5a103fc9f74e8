/**
 * Sigstore signatures as cosign and containers/image make them with a key pair: the payload's SHA-256
 * signed by the private key (ASN.1 DER for ECDSA), base64 in the `dev.cosignproject.cosign/signature`
 * annotation. No transparency log and no certificate: Rekor and Fulcio are not reachable from hod's
 * builds, so only key-pair signatures are made and only public keys verify them.
 */
import crypto from 'node:crypto';
import { makePayload, parsePayload } from './payload.js';
import { loadSigstorePublicKeys } from './sigstore-key.js';
import { SIGSTORE_MIME_TYPE, SIGSTORE_PAYLOAD_TYPE, SIGSTORE_SIGNATURE_ANNOTATION, SignatureError, type KeySet, type Signature, type VerifiedSignature } from './types.js';

type SigstoreSignature = Extract<Signature, { format: 'sigstore-json' }>;

/** Ed25519 keys sign the message itself; ECDSA and RSA its SHA-256. */
function hashFor(key: crypto.KeyObject): string | null {
  return key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
}

export function signSigstore(key: crypto.KeyObject, identity: string, manifestDigest: string, optional: { creator?: string; timestamp?: number } = {}): SigstoreSignature {
  const payload = makePayload(SIGSTORE_PAYLOAD_TYPE, identity, manifestDigest, optional);
  const sig = crypto.sign(hashFor(key), payload, key);
  return { format: 'sigstore-json', mimeType: SIGSTORE_MIME_TYPE, payload, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: sig.toString('base64') } };
}

/** Check a sigstore signature against the trusted public keys and read its payload. */
export function verifySigstore(sig: SigstoreSignature, keys: KeySet): VerifiedSignature {
  if (sig.mimeType !== SIGSTORE_MIME_TYPE) throw new SignatureError('invalid', `sigstore signature of unexpected type "${sig.mimeType}"`);
  const b64 = sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (typeof b64 !== 'string' || !b64) throw new SignatureError('invalid', `sigstore signature without its ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  const raw = Buffer.from(b64, 'base64');
  const trusted = loadSigstorePublicKeys(keys);
  const by = trusted.find((k) => {
    try {
      return crypto.verify(hashFor(k.key), sig.payload, k.key, raw);
    } catch {
      return false; // a key of another type cannot have made it
    }
  });
  if (!by) {
    // ECDSA cannot tell a payload altered after signing from one signed by another key
    throw new SignatureError('key', `the sigstore signature does not verify with the trusted public key${trusted.length > 1 ? 's' : ''} (${trusted.map((k) => k.name).join(', ')}): it was made with another key, or its payload was altered`);
  }
  const p = parsePayload(sig.payload, SIGSTORE_PAYLOAD_TYPE);
  return { dockerReference: p.dockerReference, manifestDigest: p.manifestDigest, key: by.name };
}
