import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { authFiles, getCredentials, getLogin, normalizeAuthKey, removeCredentials, saveCredentials, writableAuthFile } from '../../lib/registry/auth-file.js';
import type { CredentialsLookup } from '../../lib/registry/client.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const basic = (user: string, pass: string) => ({ auth: b64(`${user}:${pass}`) });

/**
 * docker-credential-test: a real credential store keeping one file per server under $HELPER_DIR, logging
 * every call to $HELPER_LOG, and speaking the docker-credential-helpers protocol.
 */
const HELPER = `#!/bin/sh
verb=$1
input=$(cat)
echo "$verb $input" >> "$HELPER_LOG"
key() { printf %s "$1" | tr '/:' '__'; }
case "$verb" in
get)
  f="$HELPER_DIR/$(key "$input")"
  if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
store)
  server=$(printf %s "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
  printf %s "$input" > "$HELPER_DIR/$(key "$server")" ;;
erase)
  f="$HELPER_DIR/$(key "$input")"
  if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
*) echo "unknown verb $verb" >&2; exit 2 ;;
esac
`;

describe('registry auth files', function () {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let run: string;
  let helperDir: string;
  let helperLog: string;

  const write = (file: string, data: unknown, mode = 0o600) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data), { mode });
    return file;
  };
  const runtimeFile = () => path.join(run, 'containers', 'auth.json');
  const userFile = () => path.join(home, '.config', 'containers', 'auth.json');
  const dockerFile = () => path.join(home, '.docker', 'config.json');
  const legacyFile = () => path.join(home, '.dockercfg');
  const helperSays = (server: string, user: string, secret: string) =>
    fs.writeFileSync(path.join(helperDir, server.replace(/[/:]/g, '_')), JSON.stringify({ ServerURL: server, Username: user, Secret: secret }));
  const helperCalls = () => (fs.existsSync(helperLog) ? fs.readFileSync(helperLog, 'utf8').trim().split('\n') : []);

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-auth-'));
    run = path.join(home, 'run');
    fs.mkdirSync(run);
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'docker-credential-test'), HELPER, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'docker-credential-broken'), '#!/bin/sh\necho "the keychain is locked" >&2\nexit 3\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'docker-credential-garbage'), '#!/bin/sh\ncat >/dev/null\necho "<html>"\n', { mode: 0o755 });
    helperDir = path.join(home, 'helper-store');
    fs.mkdirSync(helperDir);
    helperLog = path.join(home, 'helper.log');
    env = { HOME: home, XDG_RUNTIME_DIR: run, PATH: `${bin}:${process.env.PATH}`, HELPER_DIR: helperDir, HELPER_LOG: helperLog };
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  describe('where credentials are looked up', function () {
    it('reads the runtime auth.json, then ~/.config/containers/auth.json, ~/.docker/config.json and ~/.dockercfg, first answer winning', async function () {
      write(legacyFile(), { 'reg.example.com': basic('legacy', 'p4') });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'legacy', password: 'p4' });
      write(dockerFile(), { auths: { 'reg.example.com': basic('docker', 'p3') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'docker', password: 'p3' });
      write(userFile(), { auths: { 'reg.example.com': basic('user', 'p2') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'user', password: 'p2' });
      write(runtimeFile(), { auths: { 'reg.example.com': basic('runtime', 'p1') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'runtime', password: 'p1' });
      // a file with nothing for this registry passes the question on
      expect(await getCredentials('other.example.com', { env })).to.equal(undefined);
      write(runtimeFile(), { auths: { 'other.example.com': basic('x', 'y') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'user', password: 'p2' });
    });

    it('honours $XDG_CONFIG_HOME and $DOCKER_CONFIG, and skips a $XDG_RUNTIME_DIR that does not exist', async function () {
      const e = { ...env, XDG_RUNTIME_DIR: path.join(home, 'gone'), XDG_CONFIG_HOME: path.join(home, 'cfg'), DOCKER_CONFIG: path.join(home, 'dock') };
      expect(authFiles({ env: e }).map((p) => p.path)).to.deep.equal([
        path.join(home, 'cfg', 'containers', 'auth.json'),
        path.join(home, 'dock', 'config.json'),
        legacyFile(),
      ]);
      write(path.join(home, 'dock', 'config.json'), { auths: { 'reg.example.com': basic('dock', 'pw') } });
      expect(await getCredentials('reg.example.com', { env: e })).to.deep.equal({ username: 'dock', password: 'pw' });
      expect(() => writableAuthFile({ env: e })).to.throw(/directory set by \$XDG_RUNTIME_DIR does not exist/);
    });

    it('reads only --authfile, or $REGISTRY_AUTH_FILE, when given', async function () {
      write(runtimeFile(), { auths: { 'reg.example.com': basic('runtime', 'p1') } });
      const chosen = write(path.join(home, 'chosen.json'), { auths: { 'only.example.com': basic('chosen', 'pc') } });
      for (const opts of [{ authfile: chosen, env }, { env: { ...env, REGISTRY_AUTH_FILE: chosen } }]) {
        expect(authFiles(opts)).to.deep.equal([{ path: chosen, legacy: false }]);
        expect(await getCredentials('reg.example.com', opts)).to.equal(undefined);
        expect(await getCredentials('only.example.com', opts)).to.deep.equal({ username: 'chosen', password: 'pc' });
      }
    });
  });

  describe('keys', function () {
    const cases: Array<[string, string, string, boolean?]> = [
      ['host:port', 'localhost:5000', 'localhost:5000'],
      ['https URL with /v1/', 'https://localhost:5000/v1/', 'localhost:5000'],
      ['http URL', 'http://reg.example.com', 'reg.example.com'],
      ["Docker Hub's legacy key", 'https://index.docker.io/v1/', 'docker.io'],
      ["Docker Hub's API host", 'registry-1.docker.io', 'docker.io'],
      ['a legacy .dockercfg URL key', 'https://reg.example.com/v1/', 'reg.example.com', true],
    ];
    for (const [what, fileKey, registry, legacy] of cases) {
      it(`finds ${what} ("${fileKey}") for ${registry}`, async function () {
        if (legacy) write(legacyFile(), { [fileKey]: basic('u', 'pw') });
        else write(userFile(), { auths: { [fileKey]: basic('u', 'pw') } });
        expect(await getCredentials(registry, { env })).to.deep.equal({ username: 'u', password: 'pw' });
        expect(await getCredentials(`x${registry}`, { env })).to.equal(undefined);
      });
    }

    it('prefers the most specific host/namespace/repo key for a repository', async function () {
      write(userFile(), {
        auths: {
          'quay.example.com': basic('host', '1'),
          'quay.example.com/team': basic('team', '2'),
          'quay.example.com/team/app': basic('app', '3'),
          'docker.io/library': basic('hub-library', '4'),
        },
      });
      const who = async (registry: string, repository?: string) => ((await getCredentials(registry, { env, repository })) as { username: string } | undefined)?.username;
      expect(await who('quay.example.com', 'team/app')).to.equal('app');
      expect(await who('quay.example.com', 'team/app/sub')).to.equal('app');
      expect(await who('quay.example.com', 'team/other')).to.equal('team');
      expect(await who('quay.example.com', 'teamster/app')).to.equal('host');
      expect(await who('quay.example.com')).to.equal('host');
      expect(await who('docker.io', 'library/alpine')).to.equal('hub-library');
      expect(await who('index.docker.io', 'library/alpine')).to.equal('hub-library');
      expect(await who('docker.io', 'someone/app')).to.equal(undefined);
    });

    it('returns an identity token as one, and serves as the client credentials callback', async function () {
      write(userFile(), { auths: { 'reg.example.com': { auth: b64('<token>:'), identitytoken: 'refresh-me' } } });
      const lookup: CredentialsLookup = (host) => getCredentials(host, { env });
      expect(await lookup('reg.example.com')).to.deep.equal({ identityToken: 'refresh-me' });
    });

    it('normalizes login keys: URLs to their host, Docker Hub host names to docker.io', function () {
      expect(normalizeAuthKey('https://index.docker.io/v1/')).to.equal('docker.io');
      expect(normalizeAuthKey('https://reg.example.com:5000/some/path')).to.equal('reg.example.com:5000');
      expect(normalizeAuthKey('index.docker.io/library/alpine')).to.equal('docker.io/library/alpine');
      expect(normalizeAuthKey('reg.example.com/team/')).to.equal('reg.example.com/team');
    });
  });

  describe('bad auth files', function () {
    const cases: Array<[string, string | object, RegExp]> = [
      ['invalid JSON', '{"auths": {', /not valid JSON/],
      ['a JSON array', '[1, 2]', /not a JSON object/],
      ['"auths" not an object', { auths: ['reg.example.com'] }, /"auths" is not an object/],
      ['an entry not an object', { auths: { 'reg.example.com': 'user:pass' } }, /the entry for "reg.example.com" is not an object/],
      ['"credHelpers" not an object', { credHelpers: 'test' }, /"credHelpers" is not an object/],
      ['a helper name not a string', { credHelpers: { 'reg.example.com': 7 } }, /credHelpers\["reg.example.com"\] is not a string/],
      ['"credsStore" not a string', { credsStore: true }, /"credsStore" is not a string/],
      ['"auth" not base64', { auths: { 'reg.example.com': { auth: 'not base64 s3cret!' } } }, /the "auth" of "reg.example.com" is not base64/],
    ];
    for (const [what, content, re] of cases) {
      it(`refuses ${what}, naming the file`, async function () {
        const file = write(userFile(), content);
        const err = await getCredentials('reg.example.com', { env }).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err?.message).to.match(re).and.to.contain(file);
        expect(err?.message).not.to.contain('s3cret');
      });
    }

    it('skips an "auth" without a colon and an empty "{}" entry, as Docker does, and reads an empty file as empty', async function () {
      write(userFile(), { auths: { 'reg.example.com': { auth: b64('no-colon-here') }, 'empty.example.com': {} } });
      write(dockerFile(), { auths: { 'reg.example.com': basic('docker', 'pw') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'docker', password: 'pw' });
      expect(await getCredentials('empty.example.com', { env })).to.equal(undefined);
      write(userFile(), '  \n');
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'docker', password: 'pw' });
    });

    it('refuses an auth file it cannot read', async function () {
      fs.mkdirSync(userFile(), { recursive: true });
      const err = await getCredentials('reg.example.com', { env }).catch((e: Error) => e);
      expect((err as Error).message).to.match(/reading credentials from .*auth\.json/);
    });
  });

  describe('credential helpers', function () {
    it('asks the credHelpers helper of a registry, with the server on stdin, and goes on when it has nothing', async function () {
      write(userFile(), { credHelpers: { 'reg.example.com': 'test' }, auths: { 'reg.example.com': basic('ignored', 'x') } });
      helperSays('reg.example.com', 'alice', 'from-helper');
      expect(await getCredentials('reg.example.com', { env, repository: 'team/app' })).to.deep.equal({ username: 'alice', password: 'from-helper' });
      expect(helperCalls()).to.deep.equal(['get reg.example.com']);

      fs.rmSync(path.join(helperDir, 'reg.example.com'));
      write(dockerFile(), { auths: { 'reg.example.com': basic('docker', 'pw') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'docker', password: 'pw' });
    });

    it('turns the "<token>" user into an identity token', async function () {
      write(userFile(), { credHelpers: { 'reg.example.com': 'test' } });
      helperSays('reg.example.com', '<token>', 'refresh-token');
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ identityToken: 'refresh-token' });
    });

    it('asks credsStore when auths has no usable entry, by the URL docker login used for Docker Hub', async function () {
      write(dockerFile(), { credsStore: 'test', auths: { 'https://index.docker.io/v1/': {}, 'reg.example.com': {} } });
      helperSays('https://index.docker.io/v1/', 'hubuser', 'hubpass');
      helperSays('reg.example.com', 'reguser', 'regpass');
      expect(await getCredentials('docker.io', { env, repository: 'library/alpine' })).to.deep.equal({ username: 'hubuser', password: 'hubpass' });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'reguser', password: 'regpass' });
      expect(await getCredentials('nothing.example.com', { env })).to.equal(undefined);
      expect(helperCalls()).to.deep.equal(['get https://index.docker.io/v1/', 'get reg.example.com', 'get nothing.example.com']);
    });

    const failures: Array<[string, string, RegExp]> = [
      ['fails', 'broken', /docker-credential-broken get reg.example.com: the keychain is locked/],
      ['answers with something that is not JSON', 'garbage', /docker-credential-garbage get reg.example.com: its answer is not JSON/],
      ['is not installed', 'absent', /docker-credential-absent is not installed or not on \$PATH/],
      ['has a name with a path in it', '../../bin/sh', /"..\/..\/bin\/sh" is not a credential helper name/],
    ];
    for (const [what, helper, re] of failures) {
      it(`reports a helper that ${what}`, async function () {
        write(userFile(), { credHelpers: { 'reg.example.com': helper } });
        const err = await getCredentials('reg.example.com', { env }).catch((e: Error) => e);
        expect((err as Error).message).to.match(re);
      });
    }
  });

  describe('hod login: saveCredentials and getLogin', function () {
    it('creates the runtime auth.json 0600 in 0700 directories', async function () {
      fs.rmSync(run, { recursive: true });
      fs.mkdirSync(run);
      const file = saveCredentials('reg.example.com', 'alice', 'pa:ss', { env });
      expect(file).to.equal(runtimeFile());
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).to.equal(0o700);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({ auths: { 'reg.example.com': basic('alice', 'pa:ss') } });
      expect(await getCredentials('reg.example.com', { env })).to.deep.equal({ username: 'alice', password: 'pa:ss' });
      expect(await getLogin('https://reg.example.com/v1/', { env })).to.equal('alice');
      expect(await getLogin('other.example.com', { env })).to.equal(undefined);
    });

    it('keeps other entries and fields, and replaces the file by rename with mode 0600', function () {
      const file = write(path.join(home, 'auth.json'), { auths: { 'other.example.com': basic('bob', 'b') }, credHelpers: { 'gcr.io': 'gcloud' }, psFormat: 'table' }, 0o644);
      // held open: a rename leaves this inode as it was, an in-place write would change it
      const old = fs.openSync(file, 'r');
      const oldText = fs.readFileSync(file, 'utf8');
      saveCredentials('https://index.docker.io/v1/', 'hub', 'h', { authfile: file, env });
      saveCredentials('reg.example.com/team/app', 'app', 'a', { authfile: file, env });
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({
        auths: { 'other.example.com': basic('bob', 'b'), 'docker.io': basic('hub', 'h'), 'reg.example.com/team/app': basic('app', 'a') },
        credHelpers: { 'gcr.io': 'gcloud' },
        psFormat: 'table',
      });
      expect(fs.statSync(file).ino).not.to.equal(fs.fstatSync(old).ino);
      expect(fs.readFileSync(old, 'utf8')).to.equal(oldText);
      fs.closeSync(old);
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      expect(fs.readdirSync(home).filter((n) => n.includes('auth.json'))).to.deep.equal(['auth.json']);
    });

    it('stores in the helper the file names for that registry', async function () {
      const file = write(path.join(home, 'auth.json'), { credHelpers: { 'reg.example.com': 'test' } });
      expect(saveCredentials('reg.example.com', 'carol', 'c-secret', { authfile: file, env })).to.equal('credential helper: test');
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({ credHelpers: { 'reg.example.com': 'test' } });
      expect(await getLogin('reg.example.com', { authfile: file, env })).to.equal('carol');
    });

    for (const [key, re] of [
      ['reg.example.com/app:1', /it has a tag/],
      ['reg.example.com/app@sha256:' + 'a'.repeat(64), /it has a digest/],
      ['nohost/team', /"nohost" is not a registry host name/],
      ['reg.example.com/Team', /repository name must be lowercase/],
      ['', /no registry host/],
    ] as const) {
      it(`refuses the key "${key}"`, function () {
        expect(() => saveCredentials(key, 'u', 'p', { env })).to.throw(re);
        expect(fs.existsSync(runtimeFile())).to.equal(false);
      });
    }
  });

  describe('hod logout: removeCredentials', function () {
    it('removes a registry with its URL-form keys, keeps namespaced keys, and says whether it removed anything', function () {
      const file = write(path.join(home, 'auth.json'), {
        auths: { 'reg.example.com': basic('a', '1'), 'https://reg.example.com/v1/': basic('b', '2'), 'reg.example.com/team': basic('c', '3'), 'x.example.com': basic('d', '4') },
        other: 1,
      });
      expect(removeCredentials('reg.example.com', { authfile: file, env })).to.equal(true);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({ auths: { 'reg.example.com/team': basic('c', '3'), 'x.example.com': basic('d', '4') }, other: 1 });
      expect(removeCredentials('reg.example.com', { authfile: file, env })).to.equal(false);
      expect(removeCredentials('reg.example.com/team', { authfile: file, env })).to.equal(true);
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      expect(removeCredentials('reg.example.com', { authfile: path.join(home, 'missing.json'), env })).to.equal(false);
    });

    it('erases from the helper the file names for the registry', function () {
      const file = write(path.join(home, 'auth.json'), { credHelpers: { 'reg.example.com': 'test' } });
      helperSays('reg.example.com', 'alice', 'x');
      expect(removeCredentials('reg.example.com', { authfile: file, env })).to.equal(true);
      expect(removeCredentials('reg.example.com', { authfile: file, env })).to.equal(false);
      expect(helperCalls()).to.deep.equal(['erase reg.example.com', 'erase reg.example.com']);
    });

    it('--all empties auths and credHelpers, erasing what the helpers keep', function () {
      const file = write(path.join(home, 'auth.json'), { auths: { 'a.example.com': basic('a', '1') }, credHelpers: { 'reg.example.com': 'test' }, other: true });
      helperSays('reg.example.com', 'alice', 'x');
      expect(removeCredentials(undefined, { authfile: file, env })).to.equal(true);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).to.deep.equal({ auths: {}, credHelpers: {}, other: true });
      expect(fs.readdirSync(helperDir)).to.deep.equal([]);
      expect(removeCredentials(undefined, { authfile: file, env })).to.equal(false);
    });

    it('reports a helper that fails to erase', function () {
      const file = write(path.join(home, 'auth.json'), { credHelpers: { 'reg.example.com': 'broken' } });
      expect(() => removeCredentials('reg.example.com', { authfile: file, env })).to.throw(/docker-credential-broken erase reg.example.com: the keychain is locked/);
    });
  });
});
