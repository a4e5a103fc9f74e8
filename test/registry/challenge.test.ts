import { expect } from 'chai';
import { parseChallenges, type Challenge } from '../../lib/registry/challenge.js';

describe('registry: WWW-Authenticate challenges', function () {
  const cases: [string, string | string[] | undefined, Challenge[]][] = [
    ['no header', undefined, []],
    ['an empty header', '', []],
    ['Basic, as htpasswd registries send it', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      "Docker Hub's Bearer",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
    ],
    [
      'a comma inside a quoted scope, and the error of an insufficient scope',
      'Bearer realm="https://r/token",scope="repository:a/b:pull,push",error="insufficient_scope"',
      [{ scheme: 'bearer', params: { realm: 'https://r/token', scope: 'repository:a/b:pull,push', error: 'insufficient_scope' } }],
    ],
    [
      'two challenges in one header',
      'Basic realm="a", Bearer realm="https://x/token", service="y"',
      [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'https://x/token', service: 'y' } }],
    ],
    [
      'two headers',
      ['Basic realm="a"', 'Bearer realm="https://x/token"'],
      [{ scheme: 'basic', params: { realm: 'a' } }, { scheme: 'bearer', params: { realm: 'https://x/token' } }],
    ],
    [
      'unquoted values, spaces around "=", any case',
      'BEARER Realm = https://x/token , Service=reg',
      [{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } }],
    ],
    ['escaped quotes in a quoted string', 'Basic realm="say \\"hi\\" \\\\ bye"', [{ scheme: 'basic', params: { realm: 'say "hi" \\ bye' } }]],
    [
      'several scopes in one parameter',
      'Bearer realm="r",scope="repository:a:pull repository:b:pull"',
      [{ scheme: 'bearer', params: { realm: 'r', scope: 'repository:a:pull repository:b:pull' } }],
    ],
    ['a scheme without parameters', 'Negotiate', [{ scheme: 'negotiate', params: {} }]],
  ];
  for (const [name, header, want] of cases) {
    it(`parses ${name}`, function () {
      expect(parseChallenges(header)).to.deep.equal(want);
    });
  }
});
