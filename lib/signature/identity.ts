/**
 * Whether the identity a signature claims (`critical.identity.docker-reference`) is acceptable for the image
 * being pulled, under a policy requirement's `signedIdentity` rule, with containers/image's semantics.
 *
 * References are compared in their docker.io-normalised form ("busybox:1" is "docker.io/library/busybox:1"),
 * but no default tag is added: a signature must name exactly what it signs, so a signed identity without a
 * tag or digest matches only the rules that compare repositories.
 *
 * Pure: no I/O.
 */
import { normalizeDocker, parseReference } from '../image/reference.js';

export type IdentityRule =
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

export type IdentityMatch = { ok: true } | { ok: false; why: string };

/** A normalised reference: `name` is "domain/path"; tag and digest are as written, both kept when both are. */
export interface DockerName {
  name: string;
  tag?: string;
  digest?: string;
}

/** Normalises a reference as containers/image's ParseNormalizedNamed does; throws InvalidReferenceError. */
export function parseDockerName(s: string): DockerName {
  const normal = normalizeDocker(s);
  const written = parseReference(s);
  const out: DockerName = { name: `${normal.domain}/${normal.path}` };
  if (written.tag !== undefined) out.tag = written.tag;
  if (written.digest !== undefined) out.digest = written.digest;
  return out;
}

function formatDockerName(r: DockerName): string {
  return r.name + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

const nameOnly = (r: DockerName): boolean => r.tag === undefined && r.digest === undefined;

/** The rule as a policy writes it, for messages. */
export function describeRule(rule: IdentityRule): string {
  switch (rule.type) {
    case 'exactReference':
      return `exactReference ${JSON.stringify(rule.dockerReference)}`;
    case 'exactRepository':
      return `exactRepository ${JSON.stringify(rule.dockerRepository)}`;
    case 'remapIdentity':
      return `remapIdentity ${JSON.stringify(rule.prefix)} -> ${JSON.stringify(rule.signedPrefix)}`;
    default:
      return rule.type;
  }
}

/**
 * Whether `signedRef` is acceptable for an image pulled as `imageRef` (undefined for images that have no
 * Docker reference, such as dir: and oci: ones: only exactReference and exactRepository can accept those).
 */
export function identityMatches(rule: IdentityRule, imageRef: string | undefined, signedRef: string): IdentityMatch {
  let signed: DockerName;
  try {
    signed = parseDockerName(signedRef);
  } catch (e) {
    return { ok: false, why: `the signed identity is not a valid reference (${(e as Error).message})` };
  }

  // These two name the accepted identity themselves and ignore how the image was named.
  if (rule.type === 'exactReference') {
    if (nameOnly(signed)) return noTagOrDigest;
    const wanted = formatDockerName(parseDockerName(rule.dockerReference));
    return formatDockerName(signed) === wanted ? ok : { ok: false, why: `the policy accepts only ${wanted}` };
  }
  if (rule.type === 'exactRepository') {
    const wanted = parseDockerName(rule.dockerRepository).name;
    return signed.name === wanted ? ok : { ok: false, why: `the policy accepts only repository ${wanted}` };
  }

  if (imageRef === undefined) return { ok: false, why: 'the image has no Docker reference to compare with' };
  let image: DockerName;
  try {
    image = parseDockerName(imageRef);
  } catch (e) {
    return { ok: false, why: `the image reference is not valid (${(e as Error).message})` };
  }

  switch (rule.type) {
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(image, signed);
    case 'matchExact':
      if (nameOnly(signed)) return noTagOrDigest;
      if (nameOnly(image)) return { ok: false, why: 'the image reference has neither a tag nor a digest' };
      return formatDockerName(signed) === formatDockerName(image) ? ok : { ok: false, why: 'the references differ' };
    case 'matchRepository':
      return signed.name === image.name ? ok : { ok: false, why: 'the repositories differ' };
    case 'remapIdentity': {
      if (!underPrefix(image.name, rule.prefix)) return repoDigestOrExact(image, signed);
      const imageString = formatDockerName(image);
      const remappedString = rule.signedPrefix + imageString.slice(rule.prefix.length);
      let remapped: DockerName;
      try {
        remapped = parseDockerName(remappedString);
      } catch (e) {
        return { ok: false, why: `remapping gives an invalid reference ${JSON.stringify(remappedString)} (${(e as Error).message})` };
      }
      // As containers/image, the result must already be in normalised form ("docker.io/busybox" is not).
      if (formatDockerName(remapped) !== remappedString) {
        return { ok: false, why: `remapping gives ${JSON.stringify(remappedString)}, which is not a fully qualified reference` };
      }
      const inner = repoDigestOrExact(remapped, signed);
      return inner.ok ? ok : { ok: false, why: `the image maps to ${remappedString}, and ${inner.why}` };
    }
  }
}

const ok: IdentityMatch = { ok: true };
const noTagOrDigest: IdentityMatch = { ok: false, why: 'the signed identity has neither a tag nor a digest' };

/** Pulled by tag: the signature must name that exact tag; pulled by digest: any signature of the repository. */
function repoDigestOrExact(image: DockerName, signed: DockerName): IdentityMatch {
  if (nameOnly(signed)) return noTagOrDigest;
  if (image.tag !== undefined) {
    return formatDockerName(signed) === formatDockerName(image) ? ok : { ok: false, why: 'the references differ' };
  }
  if (image.digest !== undefined) {
    // The manifest digest itself is checked against the signature's apart from the identity.
    return signed.name === image.name ? ok : { ok: false, why: 'the repositories differ' };
  }
  return { ok: false, why: 'the image reference has neither a tag nor a digest' };
}

/**
 * Whether repository `name` is `prefix` or lies under it: the match must end at a "/" ("example.com/ab" is
 * not under "example.com/a"); a host:port prefix must match the host and port exactly.
 */
export function underPrefix(name: string, prefix: string): boolean {
  return name === prefix || (name.startsWith(prefix) && name[prefix.length] === '/');
}
