import { expect } from 'chai';
import { identityMatches, underPrefix, type IdentityRule } from '../../lib/signature/identity.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

// [rule, how the image was pulled (undefined: no Docker reference), what the signature claims, accepted?]
type Case = [IdentityRule, string | undefined, string, boolean];

const repoDigestOrExact: IdentityRule = { type: 'matchRepoDigestOrExact' };
const exact: IdentityRule = { type: 'matchExact' };
const repository: IdentityRule = { type: 'matchRepository' };
const exactReference: IdentityRule = { type: 'exactReference', dockerReference: 'example.com/app:1' };
const exactRepository: IdentityRule = { type: 'exactRepository', dockerRepository: 'example.com/app' };
const mirror: IdentityRule = { type: 'remapIdentity', prefix: 'mirror.local/docker', signedPrefix: 'docker.io/library' };
const wholeRepo: IdentityRule = { type: 'remapIdentity', prefix: 'mirror.local/app', signedPrefix: 'example.com/app' };
const byHost: IdentityRule = { type: 'remapIdentity', prefix: 'localhost:5000', signedPrefix: 'example.com' };
const toShortName: IdentityRule = { type: 'remapIdentity', prefix: 'mirror.local/x', signedPrefix: 'docker.io' };

const cases: Record<string, Case[]> = {
  matchRepoDigestOrExact: [
    [repoDigestOrExact, 'example.com/app:1', 'example.com/app:1', true],
    [repoDigestOrExact, 'busybox:latest', 'docker.io/library/busybox:latest', true],
    [repoDigestOrExact, 'docker.io/library/busybox:1', 'index.docker.io/busybox:1', true],
    [repoDigestOrExact, 'example.com/app:1', 'example.com/app:2', false],
    // A signature must name what it signs: no default tag is assumed on either side.
    [repoDigestOrExact, 'example.com/app:latest', 'example.com/app', false],
    [repoDigestOrExact, 'example.com/app', 'example.com/app:latest', false],
    [repoDigestOrExact, 'example.com/app:1', `example.com/app@${D1}`, false],
    [repoDigestOrExact, 'example.com/app:1', 'example.com/other:1', false],
    // Pulled by digest: any signature of the repository (the manifest digest is checked on its own).
    [repoDigestOrExact, `example.com/app@${D1}`, 'example.com/app:1', true],
    [repoDigestOrExact, `example.com/app@${D1}`, `example.com/app@${D2}`, true],
    [repoDigestOrExact, `example.com/app@${D1}`, 'example.com/app', false],
    [repoDigestOrExact, `example.com/app@${D1}`, 'example.com/other:1', false],
    // A tag and a digest: the tag makes it an exact comparison.
    [repoDigestOrExact, `example.com/app:1@${D1}`, `example.com/app:1@${D1}`, true],
    [repoDigestOrExact, `example.com/app:1@${D1}`, 'example.com/app:1', false],
    [repoDigestOrExact, undefined, 'example.com/app:1', false],
    [repoDigestOrExact, 'example.com/app:1', 'Example.com/APP:1', false],
    [repoDigestOrExact, 'example.com/app:1', '', false],
  ],
  matchExact: [
    [exact, 'example.com/app:1', 'example.com/app:1', true],
    [exact, 'alpine:3', 'docker.io/library/alpine:3', true],
    [exact, 'example.com/app:1', 'example.com/app:2', false],
    [exact, `example.com/app@${D1}`, `example.com/app@${D1}`, true],
    [exact, `example.com/app@${D1}`, `example.com/app@${D2}`, false],
    [exact, `example.com/app@${D1}`, 'example.com/app:1', false],
    [exact, 'example.com/app:1', 'example.com/app', false],
    [exact, 'example.com/app', 'example.com/app', false],
    [exact, undefined, 'example.com/app:1', false],
  ],
  matchRepository: [
    [repository, 'example.com/app:1', 'example.com/app:2', true],
    [repository, 'example.com/app:1', 'example.com/app', true],
    [repository, `example.com/app@${D1}`, 'example.com/app:1', true],
    [repository, 'busybox', 'docker.io/library/busybox:1', true],
    [repository, 'example.com/app:1', 'example.com/app2:1', false],
    [repository, 'example.com/app:1', 'example.com:443/app:1', false],
    [repository, undefined, 'example.com/app:1', false],
  ],
  // These two ignore the image, so they also serve images without a Docker reference (dir:, oci:).
  exactReference: [
    [exactReference, 'example.com/app:1', 'example.com/app:1', true],
    [exactReference, undefined, 'example.com/app:1', true],
    [exactReference, 'example.com/other:9', 'example.com/app:1', true],
    [exactReference, 'example.com/app:1', 'example.com/app:2', false],
    [exactReference, 'example.com/app:1', 'example.com/app', false],
    [{ type: 'exactReference', dockerReference: 'busybox:1' }, undefined, 'docker.io/library/busybox:1', true],
  ],
  exactRepository: [
    [exactRepository, undefined, 'example.com/app:7', true],
    [exactRepository, 'example.com/other:1', 'example.com/app', true],
    [exactRepository, 'example.com/app:1', 'example.com/app-x:1', false],
    [{ type: 'exactRepository', dockerRepository: 'busybox' }, undefined, 'docker.io/library/busybox:1', true],
  ],
  remapIdentity: [
    [mirror, 'mirror.local/docker/busybox:1', 'docker.io/library/busybox:1', true],
    [mirror, 'mirror.local/docker/busybox:1', 'docker.io/library/busybox:2', false],
    [mirror, 'mirror.local/docker/busybox:1', 'mirror.local/docker/busybox:1', false],
    [mirror, `mirror.local/docker/busybox@${D1}`, 'docker.io/library/busybox:any', true],
    // The prefix ends at a path boundary: "dockerx" is not under "docker".
    [mirror, 'mirror.local/dockerx/busybox:1', 'docker.io/libraryx/busybox:1', false],
    [mirror, 'mirror.local/dockerx/busybox:1', 'docker.io/library/busybox:1', false],
    // Outside the prefix, the rule is matchRepoDigestOrExact.
    [mirror, 'example.com/app:1', 'example.com/app:1', true],
    [mirror, 'example.com/app:1', 'example.com/app:2', false],
    [wholeRepo, 'mirror.local/app:2', 'example.com/app:2', true],
    [wholeRepo, 'mirror.local/app/sub:2', 'example.com/app/sub:2', true],
    [wholeRepo, 'mirror.local/apple:2', 'example.com/apple:2', false],
    [byHost, 'localhost:5000/ns/app:1', 'example.com/ns/app:1', true],
    [byHost, 'localhost:50000/ns/app:1', 'example.com/ns/app:1', false],
    // "docker.io/busybox" is not a normalised name, and containers/image refuses the result.
    [toShortName, 'mirror.local/x/busybox:1', 'docker.io/busybox:1', false],
    [toShortName, 'mirror.local/x/busybox:1', 'docker.io/library/busybox:1', false],
    [mirror, undefined, 'docker.io/library/busybox:1', false],
  ],
};

describe('signature/identity', () => {
  for (const [name, table] of Object.entries(cases)) {
    describe(name, () => {
      for (const [rule, image, signed, want] of table) {
        it(`${image ?? '(no reference)'} signed as ${JSON.stringify(signed)}: ${want ? 'accepted' : 'refused'}`, () => {
          const got = identityMatches(rule, image, signed);
          expect(got.ok).to.equal(want);
          if (!got.ok) expect(got.why).to.be.a('string').and.not.equal('');
        });
      }
    });
  }

  it('says why an identity is refused', () => {
    const got = identityMatches(repoDigestOrExact, 'example.com/app:1', 'example.com/app');
    expect(got).to.deep.equal({ ok: false, why: 'the signed identity has neither a tag nor a digest' });
    const remapped = identityMatches(mirror, 'mirror.local/docker/busybox:1', 'docker.io/library/busybox:2');
    expect(remapped.ok ? '' : remapped.why).to.equal('the image maps to docker.io/library/busybox:1, and the references differ');
    const noRef = identityMatches(exact, undefined, 'example.com/app:1');
    expect(noRef.ok ? '' : noRef.why).to.match(/no Docker reference/);
  });

  describe('underPrefix', () => {
    const table: [string, string, boolean][] = [
      ['example.com/a', 'example.com/a', true],
      ['example.com/a/b', 'example.com/a', true],
      ['example.com/ab', 'example.com/a', false],
      ['example.com/a', 'example.com/a/b', false],
      ['example.com:5000/a', 'example.com', false],
      ['example.com/a', 'example.com', true],
    ];
    for (const [name, prefix, want] of table) {
      it(`${name} ${want ? 'is' : 'is not'} under ${prefix}`, () => expect(underPrefix(name, prefix)).to.equal(want));
    }
  });
});
