import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadPolicy, pathScopes, policyPath, requirementsFor, type Policy } from '../../lib/signature/policy.js';
import { SignatureError } from '../../lib/signature/types.js';

const accept = { type: 'insecureAcceptAnything' };
const reject = { type: 'reject' };
const KEY_B64 = Buffer.from('a public key').toString('base64');
const gpg = (extra: object) => ({ type: 'signedBy', keyType: 'GPGKeys', keyPath: 'k.gpg', ...extra });
const cosign = (extra: object) => ({ type: 'sigstoreSigned', keyPath: 'k.pub', ...extra });
const withDefault = (req: object) => ({ default: [req] });
const withIdentity = (signedIdentity: unknown) => withDefault(cosign({ signedIdentity }));

describe('signature/policy', () => {
  let dir: string;
  beforeEach(() => (dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hod-policy-')))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (text: string): string => {
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, text);
    return file;
  };
  const loadError = (text: string): SignatureError => {
    const file = write(text);
    try {
      loadPolicy(file);
    } catch (e) {
      expect(e).to.be.instanceOf(SignatureError);
      expect((e as SignatureError).reason).to.equal('policy');
      return e as SignatureError;
    }
    throw new Error(`the policy was accepted:\n${text}`);
  };

  describe('JSON that does not parse says where, as line:column', () => {
    const table: [string, string, string][] = [
      ['a trailing comma', '{\n  "default": [\n    {"type": "reject"},\n  ]\n}', "4:3: invalid JSON: Unexpected token ']'"],
      ['a bare word', '{\n  "default": [\n    {"type": reject}\n  ]\n}', "3:14: invalid JSON: Unexpected token 'r'"],
      ['a missing colon', '{"default" [{"type": "reject"}]}', "1:12: invalid JSON: Expected ':' after property name"],
      ['an empty file', '', '1:1: invalid JSON: Unexpected end of JSON input'],
      ['a cut-off file', '{\n  "default": [', '2:15: invalid JSON: Unexpected end of JSON input'],
      ['text after the object', '{"default": [{"type": "reject"}]}\nx', '2:1: invalid JSON: Unexpected non-whitespace character after JSON'],
      ['a duplicate key', '{\n  "default": [{"type": "reject"}],\n  "default": []\n}', '3:3: duplicate key "default"'],
      [
        'a duplicate scope',
        '{"default": [{"type": "reject"}],\n "transports": {"docker": {\n   "example.com": [{"type": "reject"}],\n   "example.com": [{"type": "insecureAcceptAnything"}]}}}',
        '4:4: transports.docker: duplicate key "example.com"',
      ],
    ];
    for (const [what, text, want] of table) {
      it(what, () => {
        const file = path.join(dir, 'policy.json');
        expect(loadError(text).message).to.equal(`${file}:${want}`);
      });
    }
  });

  it('says when the file cannot be read', () => {
    const missing = path.join(dir, 'nope.json');
    expect(() => loadPolicy(missing)).to.throw(SignatureError, `${missing}: cannot read the signature policy: ENOENT`);
  });

  describe('refuses what containers/image refuses, naming the place', () => {
    // [what, policy, `where: problem` as the message ends]
    const table: [string, unknown, string][] = [
      ['a list at the top', [], 'must be a JSON object'],
      ['no default', { transports: {} }, 'missing "default", the requirements for images no transport section covers'],
      ['an empty default', { default: [] }, 'default: the list of requirements must not be empty'],
      ['a default that is not a list', { default: accept }, 'default: must be a list of requirements'],
      ['an unknown top-level field', { ...withDefault(accept), version: 1 }, 'version: unknown field "version" (allowed here: default, transports)'],
      ['a requirement without a type', { default: [{}] }, 'default[0]: missing "type"'],
      ['a type that is not a string', { default: [{ type: 1 }] }, 'default[0].type: must be a string'],
      ['an unknown requirement type', withDefault({ type: 'acceptAll' }), 'default[0].type: unknown requirement type "acceptAll"'],
      ['signedBaseLayer', withDefault({ type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchExact' } }), 'default[0]: signedBaseLayer is not implemented'],
      ['a field on reject', withDefault({ type: 'reject', keyPath: '/k' }), 'default[0].keyPath: unknown field "keyPath" (allowed here: type)'],
      ['transports that is a list', { ...withDefault(accept), transports: [] }, 'transports: must be a JSON object'],
      ['a transport that is a list', { ...withDefault(accept), transports: { docker: [] } }, 'transports.docker: must be a JSON object'],
      [
        'an empty scope',
        { ...withDefault(accept), transports: { docker: { 'registry.example.com/team': [] } } },
        'transports.docker."registry.example.com/team": the list of requirements must not be empty',
      ],
      [
        'a bad requirement in a scope',
        { ...withDefault(accept), transports: { docker: { 'registry.example.com/team': [accept, { type: 'signedBy' }] } } },
        'transports.docker."registry.example.com/team"[1]: signedBy needs "keyType": "GPGKeys"',
      ],
      ['a relative dir: scope', { ...withDefault(accept), transports: { dir: { 'images/x': [accept] } } }, 'transports.dir."images/x": a dir scope must be an absolute path'],
      ['the dir: scope "/"', { ...withDefault(accept), transports: { dir: { '/': [accept] } } }, 'transports.dir."/": the scope "/" would mean the same as the transport default: use "" instead'],
      ['a trailing slash', { ...withDefault(accept), transports: { oci: { '/srv/x/': [accept] } } }, 'transports.oci."/srv/x/": the scope is not in canonical form; write "/srv/x"'],
      ['a ".." in a path', { ...withDefault(accept), transports: { 'oci-archive': { '/srv/x/../y.tar': [accept] } } }, 'the scope is not in canonical form; write "/srv/y.tar"'],
      ['a docker-archive: scope', { ...withDefault(accept), transports: { 'docker-archive': { '/x.tar': [accept] } } }, 'transports.docker-archive."/x.tar": docker-archive takes no scopes'],
      ['an X.509 keyType', withDefault(gpg({ keyType: 'X509Certificates' })), 'default[0].keyType: keyType "X509Certificates" is not implemented'],
      ['an unknown keyType', withDefault(gpg({ keyType: 'PGP' })), 'default[0].keyType: unknown keyType "PGP": use "GPGKeys"'],
      ['signedBy without keys', withDefault({ type: 'signedBy', keyType: 'GPGKeys' }), 'default[0]: one of keyPath, keyPaths, keyData is required'],
      ['two key sources', withDefault(gpg({ keyData: KEY_B64 })), 'default[0].keyData: only one of keyPath, keyPaths, keyData may be given, not keyPath and keyData'],
      ['an empty keyPath', withDefault(gpg({ keyPath: '' })), 'default[0].keyPath: must not be empty'],
      ['a keyPath that is not a string', withDefault(gpg({ keyPath: ['a'] })), 'default[0].keyPath: must be a string'],
      ['an empty keyPaths', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyPaths: [] }), 'default[0].keyPaths: must list at least one key'],
      ['keyPaths that is a string', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyPaths: 'a' }), 'default[0].keyPaths: must be a list'],
      ['an empty name in keyPaths', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyPaths: ['a', ''] }), 'default[0].keyPaths[1]: must not be empty'],
      ['keyData that is not base64', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyData: 'not base64!' }), 'default[0].keyData: must be base64 data'],
      ['keyData without padding', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyData: 'YWJj ZA' }), 'default[0].keyData: must be base64 data'],
      ['keyDatas on signedBy', withDefault({ type: 'signedBy', keyType: 'GPGKeys', keyDatas: [KEY_B64] }), 'default[0].keyDatas: unknown field "keyDatas"'],
      ['sigstoreSigned without keys', withDefault({ type: 'sigstoreSigned' }), 'default[0]: one of keyPath, keyPaths, keyData, keyDatas is required'],
      ['an empty keyDatas', withDefault({ type: 'sigstoreSigned', keyDatas: [] }), 'default[0].keyDatas: must list at least one key'],
      [
        'fulcio',
        withDefault({ type: 'sigstoreSigned', fulcio: { caPath: '/ca', oidcIssuer: 'https://o', subjectEmail: 'a@b' }, rekorPublicKeyPath: '/r' }),
        'default[0].fulcio: keyless (Fulcio/Rekor) verification is not supported by hod: use keyPath',
      ],
      ['rekor', withDefault(cosign({ rekorPublicKeyData: KEY_B64 })), 'default[0].rekorPublicKeyData: keyless (Fulcio/Rekor) verification is not supported by hod: use keyPath'],
      ['pki', withDefault({ type: 'sigstoreSigned', pki: { caRootsPath: '/r' } }), 'default[0].pki: X.509 certificate (pki) verification is not supported by hod: use keyPath'],
      ['a signedIdentity that is a string', withIdentity('matchExact'), 'default[0].signedIdentity: must be a JSON object'],
      ['an unknown signedIdentity', withIdentity({ type: 'matchNothing' }), 'default[0].signedIdentity.type: unknown signedIdentity type "matchNothing"'],
      ['a field on matchExact', withIdentity({ type: 'matchExact', dockerReference: 'a:1' }), 'default[0].signedIdentity.dockerReference: unknown field "dockerReference" (allowed here: type)'],
      ['exactReference without its reference', withIdentity({ type: 'exactReference' }), 'default[0].signedIdentity: exactReference needs "dockerReference"'],
      ['exactReference without a tag', withIdentity({ type: 'exactReference', dockerReference: 'example.com/app' }), 'default[0].signedIdentity.dockerReference: "example.com/app" has neither a tag nor a digest'],
      ['an invalid exactReference', withIdentity({ type: 'exactReference', dockerReference: 'example.com/APP:1' }), 'default[0].signedIdentity.dockerReference: invalid image name "example.com/APP:1": repository name must be lowercase'],
      ['exactRepository that is a number', withIdentity({ type: 'exactRepository', dockerRepository: 7 }), 'default[0].signedIdentity.dockerRepository: must be a string'],
      ['remapIdentity without signedPrefix', withIdentity({ type: 'remapIdentity', prefix: 'example.com' }), 'default[0].signedIdentity: remapIdentity needs "signedPrefix"'],
      ['a prefix with a tag', withIdentity({ type: 'remapIdentity', prefix: 'example.com/a:1', signedPrefix: 'example.com' }), 'default[0].signedIdentity.prefix: "example.com/a:1" is not a registry host or a host/repository prefix'],
      ['a signedPrefix with a space', withIdentity({ type: 'remapIdentity', prefix: 'example.com', signedPrefix: 'a b' }), 'default[0].signedIdentity.signedPrefix: "a b" is not a registry host'],
    ];
    for (const [what, policy, want] of table) {
      it(what, () => {
        const text = JSON.stringify(policy, null, 2);
        const message = loadError(text).message;
        const file = path.join(dir, 'policy.json');
        expect(message.startsWith(`${file}:`), message).to.equal(true);
        expect(message).to.match(/^[^:]+:\d+:\d+: /);
        expect(message).to.contain(want);
      });
    }

    it('points at the offending field itself', () => {
      const text = '{\n  "default": [\n    {\n      "type": "reject",\n      "keyPath": "/k"\n    }\n  ]\n}';
      expect(loadError(text).message).to.equal(`${path.join(dir, 'policy.json')}:5:18: default[0].keyPath: unknown field "keyPath" (allowed here: type)`);
    });

    it('points at the object that lacks a field', () => {
      const text = '{"default": [\n  {"type": "sigstoreSigned"}]}';
      expect(loadError(text).message).to.equal(`${path.join(dir, 'policy.json')}:2:3: default[0]: one of keyPath, keyPaths, keyData, keyDatas is required`);
    });
  });

  describe('accepts every form the format allows', () => {
    it('reads requirements, keys and identities', () => {
      const file = write(
        JSON.stringify({
          default: [reject],
          transports: {
            docker: {
              '': [accept],
              'example.com/gpg': [gpg({ keyPath: 'keys/team.gpg' })],
              'example.com/gpgs': [{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: ['/etc/a.gpg', 'b.gpg'], signedIdentity: { type: 'matchRepository' } }],
              'example.com/data': [{ type: 'signedBy', keyType: 'GPGKeys', keyData: KEY_B64, signedIdentity: { type: 'exactReference', dockerReference: 'busybox:1' } }],
              'example.com/cosign': [cosign({ keyPath: '/etc/cosign.pub', signedIdentity: { type: 'remapIdentity', prefix: 'example.com', signedPrefix: 'quay.io/team' } })],
              'example.com/datas': [{ type: 'sigstoreSigned', keyDatas: [KEY_B64, KEY_B64], signedIdentity: { type: 'exactRepository', dockerRepository: 'example.com/app:1' } }],
            },
            dir: { '/srv/images': [accept] },
            'docker-archive': { '': [reject] },
            // Transports hod does not know are kept (a shared policy.json serves skopeo and podman too).
            'docker-daemon': { '': [accept] },
          },
        }),
      );
      const policy = loadPolicy(file);
      const docker = policy.transports.get('docker')!;
      expect(policy.default).to.deep.equal([reject]);
      expect(docker.get('')).to.deep.equal([accept]);
      expect(docker.get('example.com/gpg')).to.deep.equal([
        { type: 'signedBy', keyType: 'GPGKeys', keys: { paths: [path.join(dir, 'keys/team.gpg')], data: [] }, signedIdentity: { type: 'matchRepoDigestOrExact' } },
      ]);
      expect(docker.get('example.com/gpgs')![0]).to.deep.include({ keys: { paths: ['/etc/a.gpg', path.join(dir, 'b.gpg')], data: [] }, signedIdentity: { type: 'matchRepository' } });
      expect(docker.get('example.com/data')![0]).to.deep.include({
        keys: { paths: [], data: [Buffer.from('a public key')] },
        signedIdentity: { type: 'exactReference', dockerReference: 'busybox:1' },
      });
      expect(docker.get('example.com/cosign')).to.deep.equal([
        {
          type: 'sigstoreSigned',
          keys: { paths: ['/etc/cosign.pub'], data: [] },
          signedIdentity: { type: 'remapIdentity', prefix: 'example.com', signedPrefix: 'quay.io/team' },
        },
      ]);
      expect(docker.get('example.com/datas')![0]).to.deep.include({ keys: { paths: [], data: [Buffer.from('a public key'), Buffer.from('a public key')] } });
      expect([...policy.transports.keys()]).to.deep.equal(['docker', 'dir', 'docker-archive', 'docker-daemon']);
    });

    it("reads Debian's default policy.json", () => {
      const text = '{\n    "default": [\n        {\n            "type": "insecureAcceptAnything"\n        }\n    ],\n    "transports":\n        {\n            "docker-daemon":\n                {\n                    "": [{"type":"insecureAcceptAnything"}]\n                }\n        }\n}\n';
      expect(loadPolicy(write(text)).default).to.deep.equal([accept]);
    });

    it('resolves relative key paths against the directory of a policy named by a relative path', () => {
      write(JSON.stringify(withDefault(gpg({ keyPath: 'k.gpg' }))));
      const cwd = process.cwd();
      process.chdir(path.dirname(dir));
      try {
        const policy = loadPolicy(path.join(path.basename(dir), 'policy.json'));
        expect(policy.default[0]).to.deep.include({ keys: { paths: [path.join(dir, 'k.gpg')], data: [] } });
      } finally {
        process.chdir(cwd);
      }
    });
  });

  describe('requirementsFor chooses the most specific section', () => {
    let policy: Policy;
    // Each list is told apart by its key file.
    const named = (name: string) => [gpg({ keyPath: `/keys/${name}` })];
    beforeEach(() => {
      policy = loadPolicy(
        write(
          JSON.stringify({
            default: named('default'),
            transports: {
              docker: {
                '': named('docker'),
                '127.0.0.1:5000/team/app:1': named('tag'),
                '127.0.0.1:5000/team': named('team'),
                '*.example.com': named('wildcard'),
              },
              dir: { '/srv/images': named('srv') },
              'docker-archive': { '': named('archives') },
            },
          }),
        ),
      );
    });

    const table: [string, string, string[], string, string][] = [
      ['the image tag', 'docker', ['127.0.0.1:5000/team/app:1', '127.0.0.1:5000/team/app', '127.0.0.1:5000/team', '127.0.0.1:5000'], 'docker scope "127.0.0.1:5000/team/app:1"', 'tag'],
      ['a namespace', 'docker', ['127.0.0.1:5000/team/app:2', '127.0.0.1:5000/team/app', '127.0.0.1:5000/team', '127.0.0.1:5000'], 'docker scope "127.0.0.1:5000/team"', 'team'],
      ['a wildcard domain', 'docker', ['r.example.com/x:1', 'r.example.com/x', 'r.example.com', '*.example.com', '*.com'], 'docker scope "*.example.com"', 'wildcard'],
      ["the transport's default", 'docker', ['quay.io/x:1', 'quay.io/x', 'quay.io'], 'transport docker default', 'docker'],
      ['a directory', 'dir', ['/srv/images/app', '/srv/images', '/srv'], 'dir scope "/srv/images"', 'srv'],
      ['the default, for a transport section without a match or ""', 'dir', ['/tmp/app', '/tmp'], 'default', 'default'],
      ['the default, for a transport without a section', 'oci', ['/srv/images/app', '/srv/images', '/srv'], 'default', 'default'],
      ['the docker-archive default', 'docker-archive', [], 'transport docker-archive default', 'archives'],
    ];
    for (const [what, transport, scopes, label, keyName] of table) {
      it(what, () => {
        const got = requirementsFor(policy, transport, scopes);
        expect(got.scope).to.equal(label);
        expect(got.requirements[0]).to.deep.include({ keys: { paths: [`/keys/${keyName}`], data: [] } });
      });
    }
  });

  describe('pathScopes', () => {
    it('gives the resolved path, then each parent but "/"', () => {
      fs.mkdirSync(path.join(dir, 'real/sub'), { recursive: true });
      fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
      const scopes = pathScopes(path.join(dir, 'link/sub/image.tar'));
      const expected: string[] = [];
      for (let p = path.join(dir, 'real/sub/image.tar'); p !== '/'; p = path.dirname(p)) expected.push(p);
      expect(scopes).to.deep.equal(expected);
      expect(scopes).to.not.include('/');
    });

    it('takes a relative path from the working directory', () => {
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(pathScopes('layout').slice(0, 2)).to.deep.equal([path.join(dir, 'layout'), dir]);
      } finally {
        process.chdir(cwd);
      }
    });
  });

  describe('policyPath', () => {
    const table: [string, { explicit?: string; user: boolean; system: boolean }, 'explicit' | 'user' | 'system' | undefined][] = [
      ['--signature-policy wins, even over files that exist', { explicit: '/given/policy.json', user: true, system: true }, 'explicit'],
      ["the user's file before the system's", { user: true, system: true }, 'user'],
      ["the system's file", { user: false, system: true }, 'system'],
      ['none: undefined, and hod accepts anything', { user: false, system: false }, undefined],
    ];
    for (const [what, c, want] of table) {
      it(what, () => {
        const home = path.join(dir, 'home');
        const user = path.join(home, '.config/containers/policy.json');
        const system = path.join(dir, 'etc/policy.json');
        for (const [f, present] of [[user, c.user], [system, c.system]] as const) {
          if (!present) continue;
          fs.mkdirSync(path.dirname(f), { recursive: true });
          fs.writeFileSync(f, '{}');
        }
        const expected = { explicit: c.explicit, user, system, none: undefined }[want ?? 'none'];
        expect(policyPath(c.explicit, { home, system })).to.equal(expected);
      });
    }
  });
});
