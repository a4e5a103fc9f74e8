/**
 * Image signatures as every transport carries them, in containers/image's two formats: "simple signing"
 * (an OpenPGP signed message whose content is a JSON payload) and sigstore (a JSON payload, its ECDSA
 * signature in an annotation, as cosign attaches it to a registry).
 */
import { HodError } from '../errors.js';

export const SIMPLE_SIGNING_TYPE = 'atomic container signature';
export const SIGSTORE_PAYLOAD_TYPE = 'cosign container image signature';
export const SIGSTORE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export type Signature =
  /** An OpenPGP signed (not detached) message; its content is the payload. */
  | { format: 'simple-signing'; bytes: Buffer }
  /** A cosign signature: the payload, and the base64 ECDSA signature over it in `annotations`. */
  | { format: 'sigstore-json'; mimeType: string; payload: Buffer; annotations: Record<string, string> };

/** What a signature's payload claims once its cryptography is verified: who signed which manifest as what. */
export interface VerifiedSignature {
  /** `critical.identity.docker-reference`, as written in the payload. */
  dockerReference: string;
  /** `critical.image.docker-manifest-digest`. */
  manifestDigest: string;
  /** The signing key's fingerprint (OpenPGP) or a short name of the public key file that verified it. */
  key: string;
}

/** Trusted keys as a policy requirement names them: files, and inline data (already base64-decoded). */
export interface KeySet {
  paths: string[];
  data: Buffer[];
}

/** A signature that cannot be made, read or trusted; `reason` is a stable word for tests and scripts. */
export class SignatureError extends HodError {
  constructor(
    readonly reason: 'policy' | 'rejected' | 'unsigned' | 'digest' | 'identity' | 'key' | 'invalid' | 'sign',
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ESIGNATURE', message, options);
  }
}
