/**
 * The signature policy as a pull applies it: the policy file is found and read once per pull, and the copy
 * asks it about the manifest it is about to store, before any blob moves, so a refused image leaves nothing
 * behind. The cryptography loads only when a requirement needs signatures.
 */
import { formatReference, type Reference } from '../image/reference.js';
import type { ImageSource, TransportName } from '../image/transport.js';
import { checkImage, type Verifiers } from '../signature/policy-eval.js';
import { dockerScopes, loadPolicy, pathScopes, policyPath, requirementsFor } from '../signature/policy.js';
import type { CopyOptions } from './copy-image.js';
import { parseLayoutName } from './transport-name.js';

const verifiers: Verifiers = {
  simpleSigning: async (bytes, keys) => (await import('../signature/gpg.js')).verifySimpleSigning(bytes, keys),
  sigstore: (sig, keys) => sigstoreModule!.verifySigstore(sig, keys),
};
let sigstoreModule: typeof import('../signature/sigstore.js') | undefined;

/** Where policy.json files of the transport look for the image: its scopes, most specific first. */
function scopesOf(t: TransportName, ref: Reference | undefined): string[] {
  switch (t.transport) {
    case 'docker':
      return ref ? dockerScopes(ref) : [];
    case 'dir':
      return pathScopes(t.rest);
    case 'oci':
    case 'oci-archive':
      return pathScopes(parseLayoutName(t).path);
    default:
      return []; // docker-archive: only the transport's default applies, as in containers/image
  }
}

/** A policy read once per pull, asked about each candidate source. */
export interface Trust {
  /** Whether the image's requirements take sigstore signatures, which a registry keeps as attachments. */
  wantsSigstore(t: TransportName, ref?: Reference): boolean;
  /** The copy's `check` for pulling `t` (a registry image by `ref`) from `src`. */
  check(t: TransportName, src: ImageSource, ref?: Reference): Promise<CopyOptions['check']>;
}

/**
 * The policy `explicit` names, else the default one, read before anything is fetched so that a bad file
 * fails first; undefined when there is no policy at all.
 */
export function loadTrust(explicit: string | undefined): Trust | undefined {
  const file = policyPath(explicit);
  if (!file) return undefined;
  const policy = loadPolicy(file);
  const wantsSigstore = (t: TransportName, ref?: Reference) => requirementsFor(policy, t.transport, scopesOf(t, ref)).requirements.some((r) => r.type === 'sigstoreSigned');
  return {
    wantsSigstore,
    async check(t, src, ref) {
      const scopes = scopesOf(t, ref);
      // the verifier is synchronous: load it now, where the image's requirements will need it
      if (wantsSigstore(t, ref)) sigstoreModule ??= await import('../signature/sigstore.js');
      const dockerReference = t.transport === 'docker' && ref ? formatReference(ref) : undefined;
      return (_raw, digest) =>
        checkImage(file, policy, {
          transport: t.transport,
          scopes,
          description: dockerReference ? `docker://${dockerReference}` : `${t.transport}:${t.rest}`,
          dockerReference,
          manifestDigest: digest,
          signatures: async () => (await src.signatures?.(digest)) ?? [],
        }, verifiers);
    },
  };
}
