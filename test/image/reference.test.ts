import { expect } from 'chai';
import { InvalidReferenceError } from '../../lib/errors.js';
import {
  formatReference,
  looksLikeImageId,
  normalizeDocker,
  normalizeLocal,
  parseReference,
  repositoryOf,
  type Reference,
} from '../../lib/image/reference.js';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${HEX}`;

describe('image/reference', () => {
  describe('parseReference', () => {
    const ok: [string, Reference][] = [
      ['busybox', { domain: '', path: 'busybox' }],
      ['busybox:1.36', { domain: '', path: 'busybox', tag: '1.36' }],
      ['library/busybox:latest', { domain: '', path: 'library/busybox', tag: 'latest' }],
      ['foo/bar/baz', { domain: '', path: 'foo/bar/baz' }],
      ['docker.io/library/alpine:3', { domain: 'docker.io', path: 'library/alpine', tag: '3' }],
      ['quay.io/podman/stable', { domain: 'quay.io', path: 'podman/stable' }],
      ['localhost/app', { domain: 'localhost', path: 'app' }],
      ['localhost:5000/app:v1', { domain: 'localhost:5000', path: 'app', tag: 'v1' }],
      ['registry:5000/team/app', { domain: 'registry:5000', path: 'team/app' }],
      ['127.0.0.1:5000/app', { domain: '127.0.0.1:5000', path: 'app' }],
      ['[::1]:5000/app:t', { domain: '[::1]:5000', path: 'app', tag: 't' }],
      ['[fe80::1]/app', { domain: '[fe80::1]', path: 'app' }],
      ['Example.COM/app', { domain: 'Example.COM', path: 'app' }],
      ['example.com', { domain: '', path: 'example.com' }],
      ['localhost', { domain: '', path: 'localhost' }],
      ['localhost:5000', { domain: '', path: 'localhost', tag: '5000' }],
      ['a.b-c--d/g', { domain: 'a.b-c--d', path: 'g' }],
      ['a.b_c__d-e--f/g', { domain: '', path: 'a.b_c__d-e--f/g' }],
      ['a_b__c-d---e.f/g', { domain: '', path: 'a_b__c-d---e.f/g' }],
      ['exa_mple.com/app', { domain: '', path: 'exa_mple.com/app' }],
      ['ns/a_b__c-d---e.f', { domain: '', path: 'ns/a_b__c-d---e.f' }],
      ['app:Latest_1.0-rc', { domain: '', path: 'app', tag: 'Latest_1.0-rc' }],
      [`app:_${'x'.repeat(127)}`, { domain: '', path: 'app', tag: `_${'x'.repeat(127)}` }],
      [`app@${DIGEST}`, { domain: '', path: 'app', digest: DIGEST }],
      [`quay.io/a/b:1@${DIGEST}`, { domain: 'quay.io', path: 'a/b', tag: '1', digest: DIGEST }],
      [`app@sha512:${'b'.repeat(128)}`, { domain: '', path: 'app', digest: `sha512:${'b'.repeat(128)}` }],
      [`app@sha384:${'c'.repeat(96)}`, { domain: '', path: 'app', digest: `sha384:${'c'.repeat(96)}` }],
      [HEX, { domain: '', path: HEX }],
      [`${'a'.repeat(255)}`, { domain: '', path: 'a'.repeat(255) }],
    ];
    for (const [input, want] of ok) {
      it(`parses ${input.length > 70 ? `${input.slice(0, 70)}...` : input}`, () => {
        expect(parseReference(input)).to.deep.equal(want);
      });
    }

    const bad: [string, string][] = [
      ['', 'repository name must have at least one component'],
      ['Busybox', 'repository name must be lowercase'],
      ['library/BusyBox:1', 'repository name must be lowercase'],
      ['quay.io/Foo/bar', 'repository name must be lowercase'],
      ['Foo/bar', 'repository name must be lowercase'],
      ['app:', 'invalid tag format'],
      ['app:-x', 'invalid tag format'],
      ['app:.x', 'invalid tag format'],
      [`app:${'x'.repeat(129)}`, 'invalid tag format'],
      ['app:a/b', 'invalid reference format'],
      ['a:b:c', 'invalid reference format'],
      ['app@', 'invalid digest format'],
      ['app@sha256:abc', 'invalid digest format'],
      [`app@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
      [`app@sha256:${'a'.repeat(63)}0a`, 'invalid checksum digest length'],
      [`app@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm "md5"'],
      [`app@${HEX}`, 'invalid digest format'],
      [`app@${DIGEST}@${DIGEST}`, 'invalid digest format'],
      ['/app', 'invalid reference format'],
      ['app/', 'invalid reference format'],
      ['a//b', 'invalid reference format'],
      ['localhost/', 'invalid reference format'],
      ['-app', 'invalid reference format'],
      ['app-', 'invalid reference format'],
      ['a..b', 'invalid reference format'],
      ['a___b', 'invalid reference format'],
      ['a b', 'invalid reference format'],
      ['-bad.com/app', 'invalid reference format'],
      ['host:port/app', 'invalid reference format'],
      [':tag', 'repository name must have at least one component'],
      [`${'a'.repeat(256)}`, 'repository name must not be more than 255 characters'],
    ];
    for (const [input, rule] of bad) {
      it(`rejects ${JSON.stringify(input.length > 70 ? `${input.slice(0, 70)}...` : input)}: ${rule}`, () => {
        expect(() => parseReference(input))
          .to.throw(InvalidReferenceError)
          .with.property('message', `invalid image name "${input}": ${rule}`);
      });
    }

    it('uses the EREFERENCE code', () => {
      expect(() => parseReference('UP')).to.throw(InvalidReferenceError).with.property('code', 'EREFERENCE');
    });
  });

  describe('normalizeLocal', () => {
    const cases: [string, string][] = [
      ['busybox', 'localhost/busybox:latest'],
      ['busybox:1', 'localhost/busybox:1'],
      ['my/app', 'localhost/my/app:latest'],
      ['localhost/app', 'localhost/app:latest'],
      ['localhost:5000/app:v2', 'localhost:5000/app:v2'],
      ['quay.io/a/b', 'quay.io/a/b:latest'],
      ['docker.io/alpine', 'docker.io/library/alpine:latest'],
      ['index.docker.io/alpine:3', 'docker.io/library/alpine:3'],
      ['docker.io/user/app', 'docker.io/user/app:latest'],
      [`app@${DIGEST}`, `localhost/app@${DIGEST}`],
      [`quay.io/a/b:1@${DIGEST}`, `quay.io/a/b@${DIGEST}`],
      ['example.com', 'localhost/example.com:latest'],
      ['exa_mple.com/app', 'localhost/exa_mple.com/app:latest'],
    ];
    for (const [input, want] of cases) {
      it(`${input} -> ${want}`, () => {
        expect(formatReference(normalizeLocal(input))).to.equal(want);
      });
    }
    it('returns the parts', () => {
      expect(normalizeLocal('busybox:1')).to.deep.equal({ domain: 'localhost', path: 'busybox', tag: '1' });
    });
    it('rejects a 64-hex name (it would be an image id)', () => {
      expect(() => normalizeLocal(HEX)).to.throw(InvalidReferenceError, /64-byte hexadecimal/);
    });
    it('rejects what parseReference rejects', () => {
      expect(() => normalizeLocal('Busybox')).to.throw(InvalidReferenceError, /must be lowercase/);
    });
  });

  describe('normalizeDocker', () => {
    const cases: [string, string][] = [
      ['alpine', 'docker.io/library/alpine:latest'],
      ['alpine:3.20', 'docker.io/library/alpine:3.20'],
      ['user/app', 'docker.io/user/app:latest'],
      ['docker.io/alpine', 'docker.io/library/alpine:latest'],
      ['index.docker.io/user/app', 'docker.io/user/app:latest'],
      ['localhost/app', 'localhost/app:latest'],
      ['localhost:5000/app', 'localhost:5000/app:latest'],
      ['quay.io/podman/stable:v5', 'quay.io/podman/stable:v5'],
      [`alpine@${DIGEST}`, `docker.io/library/alpine@${DIGEST}`],
      [`alpine:3@${DIGEST}`, `docker.io/library/alpine@${DIGEST}`],
      ['ghcr.io/org/sub/image', 'ghcr.io/org/sub/image:latest'],
    ];
    for (const [input, want] of cases) {
      it(`${input} -> ${want}`, () => {
        expect(formatReference(normalizeDocker(input))).to.equal(want);
      });
    }
    it('rejects a 64-hex name', () => {
      expect(() => normalizeDocker(HEX)).to.throw(InvalidReferenceError, /64-byte hexadecimal/);
    });
  });

  describe('formatReference and repositoryOf', () => {
    const cases: [Reference, string, string][] = [
      [{ domain: 'localhost', path: 'a' }, 'localhost/a', 'localhost/a'],
      [{ domain: 'localhost', path: 'a', tag: 't' }, 'localhost/a:t', 'localhost/a'],
      [{ domain: 'quay.io', path: 'a/b', digest: DIGEST }, `quay.io/a/b@${DIGEST}`, 'quay.io/a/b'],
      [{ domain: 'quay.io', path: 'a/b', tag: '1', digest: DIGEST }, `quay.io/a/b:1@${DIGEST}`, 'quay.io/a/b'],
      [{ domain: '', path: 'a', tag: 't' }, 'a:t', 'a'],
    ];
    for (const [r, full, repo] of cases) {
      it(full, () => {
        expect(formatReference(r)).to.equal(full);
        expect(repositoryOf(r)).to.equal(repo);
      });
    }
    it('round-trips through parseReference', () => {
      for (const s of ['a', 'a/b:c', 'localhost:5000/x/y:z', `q.io/a@${DIGEST}`, `q.io/a:t@${DIGEST}`]) {
        expect(formatReference(parseReference(s))).to.equal(s);
      }
    });
  });

  describe('looksLikeImageId', () => {
    const cases: [string, boolean][] = [
      ['abc', true],
      ['ab', false],
      ['0123456789abcdef', true],
      [HEX, true],
      [`${HEX}0`, false],
      [DIGEST, true],
      ['sha256:abc', true],
      ['sha256:ab', false],
      ['ABC', false],
      ['abcg', false],
      ['busybox', false],
      ['sha512:abc', false],
      ['', false],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)} -> ${want}`, () => {
        expect(looksLikeImageId(input)).to.equal(want);
      });
    }
  });
});
