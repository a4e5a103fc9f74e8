/**
 * Whether a policy accepts an image, as containers/image's IsRunningImageAllowed decides: every requirement of
 * the chosen scope must be satisfied; a signature requirement by at least one signature of its format that
 * verifies with its keys, signs the image's manifest digest and names an acceptable identity.
 *
 * The cryptography is passed in (`Verifiers`), so this file decides only what the results mean.
 */
import { describeRule, identityMatches } from './identity.js';
import { requirementsFor, type Policy, type Requirement } from './policy.js';
import { SIGSTORE_MIME_TYPE, SignatureError, type KeySet, type Signature, type VerifiedSignature } from './types.js';

export interface PolicyImage {
  /** The transport name as policy.json keys it: docker, dir, oci, oci-archive, docker-archive. */
  transport: string;
  /** The image's scopes, most specific first (dockerScopes, pathScopes; none for docker-archive). */
  scopes: string[];
  /** The image as the user named it, for messages ("docker://example.com/app:1"). */
  description: string;
  /** The reference it was pulled by, with its tag or digest; undefined when the transport has none (dir:, oci:). */
  dockerReference?: string;
  /** The digest of the manifest being accepted (for a multi-platform image, the one chosen). */
  manifestDigest: string;
  signatures(): Promise<Signature[]>;
}

export interface Verifiers {
  /** Verifies an OpenPGP signed message; throws SignatureError ('key' or 'invalid') when it cannot be trusted. */
  simpleSigning(bytes: Buffer, keys: KeySet): Promise<VerifiedSignature>;
  /** Verifies a cosign signature over its payload; throws SignatureError ('key' or 'invalid') likewise. */
  sigstore(sig: Extract<Signature, { format: 'sigstore-json' }>, keys: KeySet): VerifiedSignature;
}

type SignedRequirement = Extract<Requirement, { type: 'signedBy' | 'sigstoreSigned' }>;
type FailureReason = SignatureError['reason'];

/** How far a failed signature got: the further, the more its failure tells the user. */
const DEPTH: Record<string, number> = { identity: 4, digest: 3, key: 2, invalid: 1 };
/** Failures listed when several signatures fail; the rest are counted. */
const MAX_LISTED = 4;

/** Resolves when `policy` accepts `image`; otherwise throws SignatureError naming the file, scope and why. */
export async function checkImage(policyFile: string, policy: Policy, image: PolicyImage, verify: Verifiers): Promise<void> {
  const { scope, requirements } = requirementsFor(policy, image.transport, image.scopes);
  const refuse = (reason: FailureReason, why: string): SignatureError =>
    new SignatureError(reason, `${image.description} is not allowed by ${policyFile} (${scope}): ${why}`);
  let signatures: Promise<Signature[]> | undefined;
  for (const req of requirements) {
    if (req.type === 'insecureAcceptAnything') continue;
    if (req.type === 'reject') throw refuse('rejected', 'the policy rejects every image here');
    signatures ??= image.signatures();
    const failure = await checkSigned(req, image, await signatures, verify);
    if (failure) throw refuse(failure.reason, failure.why);
  }
}

interface Failure {
  reason: FailureReason;
  why: string;
}

/** Undefined when one signature satisfies `req`; else why none does. */
async function checkSigned(req: SignedRequirement, image: PolicyImage, all: Signature[], verify: Verifiers): Promise<Failure | undefined> {
  const kind = req.type === 'signedBy' ? 'simple signing (GPG)' : 'sigstore';
  if (all.length === 0) return { reason: 'unsigned', why: `a ${kind} signature is required, but the image has no signatures` };
  const candidates = all.filter((s) => (req.type === 'signedBy' ? s.format === 'simple-signing' : s.format === 'sigstore-json' && s.mimeType === SIGSTORE_MIME_TYPE));
  if (candidates.length === 0) {
    return { reason: 'unsigned', why: `a ${kind} signature is required, but the image has only ${describeOthers(all)}` };
  }

  const failures: Failure[] = [];
  for (const sig of candidates) {
    const failure = await checkOne(req, image, sig, verify);
    if (!failure) return undefined;
    failures.push(failure);
  }
  if (failures.length === 1) return failures[0];
  // The signature that got furthest decides the reason; each one's story is listed, furthest first.
  const ranked = failures.map((f, i) => ({ ...f, n: i + 1 })).sort((a, b) => (DEPTH[b.reason] ?? 0) - (DEPTH[a.reason] ?? 0));
  const lines = ranked.slice(0, MAX_LISTED).map((f) => `\n  signature ${f.n}: ${f.why}`);
  if (ranked.length > MAX_LISTED) lines.push(`\n  and ${ranked.length - MAX_LISTED} more`);
  return { reason: ranked[0]!.reason, why: `none of the image's ${failures.length} ${kind} signatures is accepted:${lines.join('')}` };
}

async function checkOne(req: SignedRequirement, image: PolicyImage, sig: Signature, verify: Verifiers): Promise<Failure | undefined> {
  let verified: VerifiedSignature;
  try {
    if (req.type === 'signedBy') verified = await verify.simpleSigning((sig as Extract<Signature, { format: 'simple-signing' }>).bytes, req.keys);
    else verified = verify.sigstore(sig as Extract<Signature, { format: 'sigstore-json' }>, req.keys);
  } catch (e) {
    // Anything but a verdict on this signature (an unreadable key file...) is no reason to try the next one.
    if (!(e instanceof SignatureError)) throw e;
    return { reason: e.reason, why: e.message };
  }
  // containers/image checks the digest before the identity.
  if (verified.manifestDigest !== image.manifestDigest) {
    return {
      reason: 'digest',
      why: `the signature by ${verified.key} is for manifest ${verified.manifestDigest}, but the image's manifest is ${image.manifestDigest}`,
    };
  }
  const match = identityMatches(req.signedIdentity, image.dockerReference, verified.dockerReference);
  if (!match.ok) {
    const pulled = image.dockerReference === undefined ? 'the image (which has no Docker reference)' : `the image's reference ${JSON.stringify(image.dockerReference)}`;
    return {
      reason: 'identity',
      why: `the signature by ${verified.key} is for ${JSON.stringify(verified.dockerReference)}, which does not match ${pulled} under signedIdentity ${describeRule(req.signedIdentity)}: ${match.why}`,
    };
  }
  return undefined;
}

/** "2 sigstore signatures and 1 other attachment", for an image with signatures of the wrong kind. */
function describeOthers(sigs: Signature[]): string {
  const simple = sigs.filter((s) => s.format === 'simple-signing').length;
  const sigstore = sigs.filter((s) => s.format === 'sigstore-json' && s.mimeType === SIGSTORE_MIME_TYPE).length;
  const other = sigs.length - simple - sigstore;
  const parts: string[] = [];
  if (simple) parts.push(`${simple} simple signing (GPG) signature${simple > 1 ? 's' : ''}`);
  if (sigstore) parts.push(`${sigstore} sigstore signature${sigstore > 1 ? 's' : ''}`);
  if (other) parts.push(`${other} sigstore attachment${other > 1 ? 's' : ''} that ${other > 1 ? 'are' : 'is'} not a signature`);
  return parts.join(' and ');
}
