/**
 * Making signatures for a manifest, as `--sign-by` (GPG simple signing) and `--sign-by-sigstore-private-key`
 * ask: each names the manifest's digest and the reference it is signed as (the identity).
 */
import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { formatReference, normalizeDocker } from '../image/reference.js';
import { gpgSign } from './gpg.js';
import { makePayload } from './payload.js';
import { loadSigstorePrivateKey } from './sigstore-key.js';
import { signSigstore } from './sigstore.js';
import { SIMPLE_SIGNING_TYPE, SignatureError, type Signature } from './types.js';

export interface SignOptions {
  /** A GPG key (fingerprint, key id, email) of the user's keyring. */
  signBy?: string;
  /** A cosign-format encrypted private key file. */
  sigstoreKey?: string;
  /** The keys' passphrase: the first line of this file. */
  passphraseFile?: string;
  /** The reference signed as, instead of the default the caller gives. */
  identity?: string;
}

export type Signer = (manifestDigest: string) => Promise<Signature[]>;

/** A passphrase file's first line, as skopeo reads it. */
function readPassphrase(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SignatureError('sign', `--sign-passphrase-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return Buffer.from(text.split('\n')[0].replace(/\r$/, ''));
}

/**
 * The signer the options ask for, or undefined when they ask for none. The identity must be a full registry
 * reference with a tag; `defaultIdentity` is what the destination or the image is called. Keys are read and
 * unlocked here, before anything is copied, so a wrong passphrase fails first.
 */
export function makeSigner(opts: SignOptions, defaultIdentity: string | undefined, creator: string): Signer | undefined {
  if (!opts.signBy && !opts.sigstoreKey) {
    if (opts.identity) throw new UsageError('--sign-identity needs --sign-by or --sign-by-sigstore-private-key');
    return undefined;
  }
  const given = opts.identity ?? defaultIdentity;
  if (!given) throw new UsageError('this destination has no registry name to sign as: give --sign-identity REGISTRY/REPO:TAG');
  let identity: string;
  try {
    const ref = normalizeDocker(given);
    if (ref.digest) throw new Error('a signature names a tag, not a digest');
    identity = formatReference(ref);
  } catch (err) {
    throw new UsageError(`--sign-identity: "${given}" is not a registry reference with a tag: ${(err as Error).message}`);
  }
  const passphrase = opts.passphraseFile ? readPassphrase(opts.passphraseFile) : undefined;
  let sigstoreKey: ReturnType<typeof loadSigstorePrivateKey> | undefined;
  if (opts.sigstoreKey) {
    let pem: Buffer;
    try {
      pem = fs.readFileSync(opts.sigstoreKey);
    } catch (err) {
      throw new SignatureError('sign', `--sign-by-sigstore-private-key ${opts.sigstoreKey}: ${(err as Error).message}`);
    }
    sigstoreKey = loadSigstorePrivateKey(pem, passphrase ?? Buffer.alloc(0), opts.sigstoreKey);
  }
  return async (manifestDigest) => {
    const out: Signature[] = [];
    if (opts.signBy) {
      const payload = makePayload(SIMPLE_SIGNING_TYPE, identity, manifestDigest, { creator, timestamp: Math.floor(Date.now() / 1000) });
      out.push({ format: 'simple-signing', bytes: await gpgSign(payload, opts.signBy, { passphraseFile: opts.passphraseFile }) });
    }
    if (sigstoreKey) out.push(signSigstore(sigstoreKey, identity, manifestDigest, { creator, timestamp: Math.floor(Date.now() / 1000) }));
    return out;
  };
}
