/** The signing and trust flags, as buildah and skopeo spell them, shared by push, commit, pull, from and bud. */
import type { SignOptions } from '../signature/sign.js';
import type { Context } from './context.js';
import { bool, str, type Flag } from './flags.js';
import { hodVersion } from './version.js';

export const SIGN_FLAGS: Record<string, Flag> = {
  'sign-by': { type: 'string', arg: 'fingerprint', desc: 'sign the image with this GPG key ("simple signing"; the keyring of $GNUPGHOME)' },
  'sign-by-sigstore-private-key': { type: 'string', arg: 'path', desc: 'sign the image with this cosign-format private key (sigstore)' },
  'sign-passphrase-file': { type: 'string', arg: 'path', desc: 'the passphrase of the signing key, from the first line of this file' },
  'sign-identity': { type: 'string', arg: 'reference', desc: 'the reference the signature names (default: the destination, else the image\'s name)' },
};

export const POLICY_FLAGS: Record<string, Flag> = {
  'signature-policy': { type: 'string', arg: 'path', desc: 'the trust policy (default ~/.config/containers/policy.json, else /etc/containers/policy.json)' },
};

export const REMOVE_SIGNATURES_FLAG: Record<string, Flag> = {
  'remove-signatures': { type: 'boolean', desc: 'do not copy the image\'s signatures' },
};

/** The signing flags given, or undefined when none is (so nothing of the signing code loads). */
export function signOptions(ctx: Context): SignOptions | undefined {
  const o: SignOptions = {
    signBy: str(ctx.flags, 'sign-by'),
    sigstoreKey: str(ctx.flags, 'sign-by-sigstore-private-key'),
    passphraseFile: str(ctx.flags, 'sign-passphrase-file'),
    identity: str(ctx.flags, 'sign-identity'),
  };
  return Object.values(o).some((v) => v !== undefined) ? o : undefined;
}

/** The sign options for a library call, with the payload's `optional.creator` as skopeo writes "atomic <version>". */
export function signing(ctx: Context): { sign?: SignOptions; creator?: string } {
  const sign = signOptions(ctx);
  return sign ? { sign, creator: `hod ${hodVersion()}` } : {};
}

/** `--signature-policy`, for the pull options of verbs that pull. */
export function policyOption(ctx: Context): { signaturePolicy?: string } {
  const p = str(ctx.flags, 'signature-policy');
  return p === undefined ? {} : { signaturePolicy: p };
}

export function removeSignatures(ctx: Context): boolean {
  return bool(ctx.flags, 'remove-signatures');
}
