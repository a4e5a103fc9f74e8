import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { formatReference, normalizeDocker, parseReference } from '../../lib/image/reference.js';
import { assertNotBlocked, emptyRegistriesConf, findRegistry, loadRegistriesConf, type RegistriesConf } from '../../lib/registry/registries-conf.js';
import { resolveShortName } from '../../lib/registry/shortnames.js';

const FULL = `
# every v2 feature
unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]
short-name-mode = "enforcing"
credential-helpers = ["containers-auth.json", "pass"]

[[registry]]
prefix = "example.com/foo"
location = "mirror.internal:5000/bar/"
insecure = true

[[registry]]
location = "example.com"

[[registry.mirror]]
location = "m1.example.net"

[[registry.mirror]]
location = "m2.example.net/cache"
insecure = true
pull-from-mirror = "digest-only"

[[registry.mirror]]
location = "m3.example.net"
pull-from-mirror = "tag-only"

[[registry]]
prefix = "example.com/foo/secret"
location = "example.com/foo/secret"
blocked = true

[[registry]]
prefix = "*.corp.example"
location = ""

[[registry]]
prefix = "*.build.corp.example"
location = "cache.corp.example"

[[registry]]
location = "digests.example.org"
mirror-by-digest-only = true
mirror = [{ location = "dm.example.org" }]

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"alpine" = "docker.io/alpine"
'team/tool' = "quay.io/team/tool"
`;

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('registries.conf', function () {
  let dir: string;
  let home: string;
  const write = (rel: string, text: string) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  /** Reads `main` (relative) with `drop` as the only drop-in directory: nothing from the host's /etc. */
  const load = (main: string, drop = 'none.d') => loadRegistriesConf({ path: path.join(dir, main), dirPath: path.join(dir, drop), env: { HOME: home } });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-regconf-'));
    home = path.join(dir, 'home');
    fs.mkdirSync(home);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('parsing', function () {
    it('reads every v2 setting', function () {
      const file = write('registries.conf', FULL);
      const conf = load('registries.conf');
      expect(conf.unqualifiedSearchRegistries).to.deep.equal(['registry.fedoraproject.org', 'quay.io', 'docker.io']);
      expect(conf.searchOrigin).to.equal(file);
      expect(conf.shortNameMode).to.equal('enforcing');
      expect(conf.credentialHelpers).to.deep.equal(['containers-auth.json', 'pass']);
      expect(conf.registries.map((r) => r.prefix)).to.deep.equal([
        '*.build.corp.example',
        '*.corp.example',
        'digests.example.org',
        'example.com',
        'example.com/foo',
        'example.com/foo/secret',
      ]);
      const foo = conf.registries.find((r) => r.prefix === 'example.com/foo')!;
      expect(foo).to.deep.include({ location: 'mirror.internal:5000/bar', insecure: true, blocked: false, origin: file });
      expect(conf.registries.find((r) => r.prefix === 'example.com')!.mirrors).to.deep.equal([
        { location: 'm1.example.net', insecure: false, pullFromMirror: 'all' },
        { location: 'm2.example.net/cache', insecure: true, pullFromMirror: 'digest-only' },
        { location: 'm3.example.net', insecure: false, pullFromMirror: 'tag-only' },
      ]);
      expect(formatReference(conf.aliases.get('alpine')!.target!)).to.equal('docker.io/library/alpine');
      expect(formatReference(conf.aliases.get('team/tool')!.target!)).to.equal('quay.io/team/tool');
      expect(conf.files).to.deep.equal([file]);
    });

    it('converts the v1 format', function () {
      write('v1.conf', `[registries.search]\nregistries = ["quay.io", "docker.io"]\n[registries.insecure]\nregistries = ["old.example.com", "both.example.com"]\n[registries.block]\nregistries = ["bad.example.com", "both.example.com"]\n`);
      const conf = load('v1.conf');
      expect(conf.unqualifiedSearchRegistries).to.deep.equal(['quay.io', 'docker.io']);
      expect(conf.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked])).to.deep.equal([
        ['bad.example.com', 'bad.example.com', false, true],
        ['both.example.com', 'both.example.com', true, true],
        ['old.example.com', 'old.example.com', true, false],
      ]);
    });

    it('gives the defaults when there is no file at all, and permissive mode', function () {
      const conf = loadRegistriesConf({ root: dir, env: { HOME: home } });
      expect(conf).to.deep.equal(emptyRegistriesConf());
      expect(conf.shortNameMode).to.equal('permissive');
    });
  });

  describe('which files, in which order', function () {
    it('reads drop-ins in name order, later files overriding key by key, registries by prefix and aliases by name', function () {
      write('registries.conf', `unqualified-search-registries = ["quay.io"]\nshort-name-mode = "enforcing"\n[[registry]]\nlocation = "a.example.com"\ninsecure = true\n[[registry]]\nlocation = "b.example.com"\n[aliases]\nfoo = "quay.io/foo"\nbar = "quay.io/bar"\n`);
      const d20 = write('conf.d/20-last.conf', `[[registry]]\nlocation = "a.example.com"\nblocked = true\n[aliases]\nbar = ""\n`);
      const d10 = write('conf.d/10-first.conf', `unqualified-search-registries = ["docker.io", "quay.io"]\n[aliases]\nfoo = "docker.io/foo"\n`);
      write('conf.d/30-ignored.txt', 'this is not TOML [');
      write('conf.d/40-dir.conf/inner.conf', 'nor this [');
      const d05 = write('conf.d/05-empty.conf', `# nothing here\n`);
      const conf = load('registries.conf', 'conf.d');
      expect(conf.files).to.deep.equal([path.join(dir, 'registries.conf'), d05, d10, d20]);
      expect(conf.unqualifiedSearchRegistries).to.deep.equal(['docker.io', 'quay.io']);
      expect(conf.searchOrigin).to.equal(d10);
      expect(conf.shortNameMode).to.equal('enforcing');
      const a = conf.registries.find((r) => r.prefix === 'a.example.com')!;
      expect([a.insecure, a.blocked, a.origin]).to.deep.equal([false, true, d20]);
      expect(conf.registries.map((r) => r.prefix)).to.deep.equal(['a.example.com', 'b.example.com']);
      expect(formatReference(conf.aliases.get('foo')!.target!)).to.equal('docker.io/library/foo');
      expect(conf.aliases.get('bar')).to.deep.equal({ target: undefined, origin: d20 });
    });

    it('an empty search list in a drop-in replaces the earlier one; a missing one keeps it', function () {
      write('registries.conf', `unqualified-search-registries = ["quay.io"]\n`);
      write('keep.d/a.conf', `short-name-mode = "disabled"\n`);
      expect(load('registries.conf', 'keep.d').unqualifiedSearchRegistries).to.deep.equal(['quay.io']);
      write('empty.d/a.conf', `unqualified-search-registries = []\n`);
      expect(load('registries.conf', 'empty.d').unqualifiedSearchRegistries).to.deep.equal([]);
    });

    it('uses the system file and both drop-in directories, system first', function () {
      write('etc/containers/registries.conf', `unqualified-search-registries = ["system.example.com"]\n`);
      write('etc/containers/registries.conf.d/50-system.conf', `short-name-mode = "disabled"\n`);
      write('home/.config/containers/registries.conf.d/10-user.conf', `short-name-mode = "enforcing"\n`);
      const conf = loadRegistriesConf({ root: dir, env: { HOME: home } });
      expect(conf.unqualifiedSearchRegistries).to.deep.equal(['system.example.com']);
      expect(conf.shortNameMode).to.equal('enforcing');
      expect(conf.files.map((f) => path.relative(dir, f))).to.deep.equal([
        'etc/containers/registries.conf',
        'etc/containers/registries.conf.d/50-system.conf',
        'home/.config/containers/registries.conf.d/10-user.conf',
      ]);
    });

    it("lets the user's registries.conf replace the system file and the system drop-ins", function () {
      write('etc/containers/registries.conf', `unqualified-search-registries = ["system.example.com"]\n`);
      write('etc/containers/registries.conf.d/50-system.conf', `short-name-mode = "disabled"\n`);
      write('home/.config/containers/registries.conf', `unqualified-search-registries = ["user.example.com"]\n`);
      write('home/.config/containers/registries.conf.d/10-user.conf', `[aliases]\nx = "user.example.com/x"\n`);
      const conf = loadRegistriesConf({ root: dir, env: { HOME: home } });
      expect(conf.files.map((f) => path.relative(dir, f))).to.deep.equal(['home/.config/containers/registries.conf', 'home/.config/containers/registries.conf.d/10-user.conf']);
      expect(conf.unqualifiedSearchRegistries).to.deep.equal(['user.example.com']);
      expect(conf.shortNameMode).to.equal('permissive');
    });

    it('reads $CONTAINERS_REGISTRIES_CONF instead of both, and insists that it exists', function () {
      write('home/.config/containers/registries.conf', `unqualified-search-registries = ["user.example.com"]\n`);
      const chosen = write('chosen.conf', `unqualified-search-registries = ["chosen.example.com"]\n`);
      const env = { HOME: home, CONTAINERS_REGISTRIES_CONF: chosen };
      expect(loadRegistriesConf({ root: dir, env }).unqualifiedSearchRegistries).to.deep.equal(['chosen.example.com']);
      const missing = path.join(dir, 'missing.conf');
      expect(() => loadRegistriesConf({ root: dir, env: { ...env, CONTAINERS_REGISTRIES_CONF: missing } })).to.throw(`${missing}: registries configuration not found`);
    });
  });

  describe('bad files', function () {
    it('names file:line:column of a TOML syntax error', function () {
      const file = write('registries.conf', `unqualified-search-registries = ["quay.io"]\n\n[[registry]]\nlocation = "a.example.com\ninsecure = true\n`);
      expect(() => load('registries.conf')).to.throw(new RegExp(`^${file}:4:\\d+: `));
      const drop = write('d/10-bad.conf', `[aliases]\nfoo = "quay.io/foo"\nfoo = "quay.io/bar"\n`);
      write('ok.conf', '');
      expect(() => load('ok.conf', 'd')).to.throw(new RegExp(`^${drop}:3:\\d+: `));
    });

    const bad: Array<[string, string, RegExp]> = [
      ['a URL as location', `[[registry]]\nlocation = "https://a.example.com"`, /registry\[0\]\.location: "https:\/\/a.example.com": URI schemes are not supported/],
      ['neither prefix nor location', `[[registry]]\ninsecure = true`, /registry\[0\]: both location and prefix are unset/],
      ['a plain prefix without location', `[[registry]]\nprefix = "a.example.com"`, /registry\[0\]\.location: unset, and prefix "a.example.com" is not of the form \*\.example\.com/],
      ['a wildcard prefix with a path', `[[registry]]\nprefix = "*.example.com/foo"\nlocation = "x.example.com"`, /a wildcard prefix must be of the form \*\.example\.com/],
      ['pull-from-mirror on the registry', `[[registry]]\nlocation = "a.example.com"\npull-from-mirror = "all"`, /registry\[0\]\.pull-from-mirror: may only be set in a \[\[registry.mirror\]\]/],
      ['an unknown pull-from-mirror', `[[registry]]\nlocation = "a.example.com"\n[[registry.mirror]]\nlocation = "m.example.com"\npull-from-mirror = "sometimes"`, /registry\[0\]\.mirror\[0\]\.pull-from-mirror: "sometimes" is not one of all, digest-only, tag-only/],
      ['pull-from-mirror with mirror-by-digest-only', `[[registry]]\nlocation = "a.example.com"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.example.com"\npull-from-mirror = "tag-only"`, /cannot be set when the registry "a.example.com" has mirror-by-digest-only/],
      ['a mirror without location', `[[registry]]\nlocation = "a.example.com"\n[[registry.mirror]]\ninsecure = true`, /registry\[0\]\.mirror\[0\]\.location: a mirror needs a location/],
      ['an unknown short-name-mode', `short-name-mode = "prompt"`, /short-name-mode: "prompt" is not one of enforcing, permissive, disabled/],
      ['a URL search registry', `unqualified-search-registries = ["https://quay.io"]`, /URI schemes are not supported/],
      ['a search registry that is no host', `unqualified-search-registries = ["quay.io/team"]`, /"quay.io\/team" is not a registry host\[:port\]/],
      ['a string for a boolean', `[[registry]]\nlocation = "a.example.com"\ninsecure = "yes"`, /registry\[0\]\.insecure: must be true or false, not "yes"/],
      ['a string for a list', `unqualified-search-registries = "docker.io"`, /unqualified-search-registries: must be an array of strings/],
      ['a table for [[registry]]', `[registry]\nlocation = "a.example.com"`, /registry: must be an array of tables/],
      ['one location, conflicting insecure', `[[registry]]\nlocation = "a.example.com"\ninsecure = true\n[[registry]]\nprefix = "b.example.com"\nlocation = "a.example.com"`, /registry "a.example.com" is defined several times with conflicting "insecure" settings/],
      ['one location, conflicting blocked', `[[registry]]\nlocation = "a.example.com"\nblocked = true\n[[registry]]\nprefix = "c.example.com"\nlocation = "a.example.com"`, /conflicting "blocked" settings/],
      ['v1 mixed with v2', `short-name-mode = "enforcing"\n[registries.search]\nregistries = ["quay.io"]`, /mixes the v1 format \(\[registries\.\*\]\) with v2 keys \(short-name-mode\)/],
    ];
    for (const [what, text, re] of bad) {
      it(`refuses ${what}, naming the file`, function () {
        const file = write('registries.conf', text + '\n');
        expect(() => load('registries.conf')).to.throw(re).with.property('message').that.contains(file);
      });
    }

    it('lists every bad alias at once', function () {
      write('registries.conf', `[aliases]\n"app:1" = "quay.io/app"\n"quay.io/app" = "quay.io/app"\nok = "quay.io/ok"\nnoreg = "team/noreg"\ntagged = "quay.io/tagged:1"\ndigested = "quay.io/d@${DIGEST}"\n`);
      let message = '';
      try {
        load('registries.conf');
      } catch (err) {
        message = (err as Error).message;
      }
      for (const part of [
        'invalid short name "app:1": must not contain a tag',
        'invalid short name "quay.io/app": must not contain a registry',
        'invalid alias "team/noreg": must contain a registry and a repository',
        'invalid alias "quay.io/tagged:1": must not contain a tag',
        'must not contain a digest',
      ]) {
        expect(message).to.contain(part);
      }
      expect(message).not.to.contain('"ok"');
    });

    it('refuses the v1 format in a drop-in', function () {
      write('registries.conf', '');
      const drop = write('d/v1.conf', `[registries.search]\nregistries = ["quay.io"]\n`);
      expect(() => load('registries.conf', 'd')).to.throw(`${drop}: drop-in files must use the v2 format`);
    });
  });

  describe('findRegistry', function () {
    let conf: RegistriesConf;
    beforeEach(() => {
      write('registries.conf', FULL);
      conf = load('registries.conf');
    });
    const find = (ref: string) => findRegistry(conf, normalizeDocker(ref));
    const text = (ref: string) => formatReference(find(ref).reference);

    it('takes the longest matching prefix and rewrites it to the location', function () {
      expect(text('example.com/foo/app:1')).to.equal('mirror.internal:5000/bar/app:1');
      expect(find('example.com/foo/app:1').insecure).to.equal(true);
      expect(text(`example.com/foo@${DIGEST}`)).to.equal(`mirror.internal:5000/bar@${DIGEST}`);
      expect(find('example.com/foo/secret/x:1').entry!.prefix).to.equal('example.com/foo/secret');
      // a prefix matches whole path elements only
      expect(find('example.com/foobar/app:1').entry!.prefix).to.equal('example.com');
      expect(text('example.com/foobar/app:1')).to.equal('example.com/foobar/app:1');
      expect(find('example.com/foobar/app:1').insecure).to.equal(false);
    });

    it('leaves a reference no prefix matches as it is', function () {
      const m = find('quay.io/team/app:2');
      expect(m).to.deep.equal({ reference: parseReference('quay.io/team/app:2'), insecure: false, blocked: false, mirrors: [] });
      expect(find('example.community/x:1').entry).to.equal(undefined);
    });

    it('lists mirrors in file order, each for the references it serves', function () {
      const mirrors = (ref: string) => find(ref).mirrors.map((m) => [formatReference(m.reference), m.insecure]);
      expect(mirrors('example.com/team/app:1')).to.deep.equal([
        ['m1.example.net/team/app:1', false],
        ['m3.example.net/team/app:1', false],
      ]);
      expect(mirrors(`example.com/team/app@${DIGEST}`)).to.deep.equal([
        [`m1.example.net/team/app@${DIGEST}`, false],
        [`m2.example.net/cache/team/app@${DIGEST}`, true],
      ]);
      expect(mirrors('digests.example.org/app:1')).to.deep.equal([]);
      expect(mirrors(`digests.example.org/app@${DIGEST}`)).to.deep.equal([[`dm.example.org/app@${DIGEST}`, false]]);
    });

    it('matches *.domain prefixes against subdomains of the host only', function () {
      expect(find('a.corp.example/x:1').entry!.prefix).to.equal('*.corp.example');
      expect(text('a.corp.example/x:1')).to.equal('a.corp.example/x:1');
      expect(find('deep.a.corp.example:5000/x:1').entry!.prefix).to.equal('*.corp.example');
      // the longer wildcard wins, and rewrites the host to its location
      expect(find('ci.build.corp.example/team/x:1').entry!.prefix).to.equal('*.build.corp.example');
      expect(text('ci.build.corp.example/team/x:1')).to.equal('cache.corp.example/team/x:1');
      for (const ref of ['corp.example/x:1', 'a.corp.examples/x:1', 'other.example.com/a.corp.example:1', 'quay.io/mirror.corp.example/x:1']) {
        expect(find(ref).entry, ref).to.equal(undefined);
      }
    });

    it('marks blocked registries, and assertNotBlocked refuses them naming the file', function () {
      const ref = normalizeDocker('example.com/foo/secret/app:1');
      const m = findRegistry(conf, ref);
      expect(m.blocked).to.equal(true);
      expect(() => assertNotBlocked(m, ref)).to.throw(`registry example.com/foo/secret is blocked in ${path.join(dir, 'registries.conf')}: cannot pull example.com/foo/secret/app:1`);
      expect(() => assertNotBlocked(find('example.com/foo/app:1'), ref)).not.to.throw();
    });

    it('refuses a reference without a registry, and a rewrite to something that is not a reference', function () {
      expect(() => findRegistry(conf, parseReference('alpine'))).to.throw(/names no registry: resolve short names first/);
      write('rewrite.conf', `[[registry]]\nprefix = "a.example.com/x"\nlocation = "nodomain"\n`);
      const c = load('rewrite.conf');
      expect(() => findRegistry(c, normalizeDocker('a.example.com/x/y:1'))).to.throw(/gives "nodomain\/y:1", which names no registry host/);
    });
  });
});

describe('resolveShortName', function () {
  let dir: string;
  let conf: RegistriesConf;
  const noCache = { aliasCache: null };
  const names = (refs: ReturnType<typeof resolveShortName>) => refs.map(formatReference);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-shortnames-'));
    fs.writeFileSync(path.join(dir, 'registries.conf'), FULL.replace('short-name-mode = "enforcing"', 'short-name-mode = "permissive"'));
    conf = loadRegistriesConf({ path: path.join(dir, 'registries.conf'), dirPath: path.join(dir, 'none.d'), env: { HOME: dir } });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives one candidate per search registry, in order, normalized', function () {
    expect(names(resolveShortName('busybox', conf, noCache))).to.deep.equal([
      'registry.fedoraproject.org/busybox:latest',
      'quay.io/busybox:latest',
      'docker.io/library/busybox:latest',
    ]);
    expect(names(resolveShortName('team/app:1', conf, noCache))).to.deep.equal(['registry.fedoraproject.org/team/app:1', 'quay.io/team/app:1', 'docker.io/team/app:1']);
    expect(names(resolveShortName(`team/app@${DIGEST}`, conf, noCache))[2]).to.equal(`docker.io/team/app@${DIGEST}`);
  });

  it('uses an alias first, with the tag or digest given', function () {
    expect(names(resolveShortName('alpine', conf, noCache))).to.deep.equal(['docker.io/library/alpine:latest']);
    expect(names(resolveShortName('fedora:40', conf, noCache))).to.deep.equal(['registry.fedoraproject.org/fedora:40']);
    expect(names(resolveShortName(`team/tool@${DIGEST}`, conf, noCache))).to.deep.equal([`quay.io/team/tool@${DIGEST}`]);
  });

  it("consults the user's alias cache before registries.conf, where a reset entry hides an alias", function () {
    const cache = path.join(dir, 'short-name-aliases.conf');
    fs.writeFileSync(cache, `[aliases]\n"fedora" = "quay.io/fedora/fedora"\n"alpine" = ""\n`);
    expect(names(resolveShortName('fedora', conf, { aliasCache: cache }))).to.deep.equal(['quay.io/fedora/fedora:latest']);
    expect(resolveShortName('alpine', conf, { aliasCache: cache })).to.have.length(3);
    // the default place: the user's cache directory when not root
    const env = { HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
    fs.mkdirSync(path.join(dir, 'cache', 'containers'), { recursive: true });
    fs.copyFileSync(cache, path.join(dir, 'cache', 'containers', 'short-name-aliases.conf'));
    if (process.geteuid?.() !== 0) expect(names(resolveShortName('fedora', conf, { env }))).to.deep.equal(['quay.io/fedora/fedora:latest']);
  });

  it('refuses a broken alias cache, naming it', function () {
    const cache = path.join(dir, 'short-name-aliases.conf');
    fs.writeFileSync(cache, `[aliases]\n"fedora" = "fedora"\n`);
    expect(() => resolveShortName('x', conf, { aliasCache: cache })).to.throw(`${cache}: [aliases]: invalid alias "fedora"`);
    fs.writeFileSync(cache, `[aliases\n`);
    expect(() => resolveShortName('x', conf, { aliasCache: cache })).to.throw(new RegExp(`^${cache}:1:\\d+: `));
  });

  it('returns a fully-qualified name as it is', function () {
    expect(names(resolveShortName('quay.io/team/app', conf, noCache))).to.deep.equal(['quay.io/team/app:latest']);
    expect(names(resolveShortName('localhost/app:2', conf, noCache))).to.deep.equal(['localhost/app:2']);
    expect(names(resolveShortName('docker.io/alpine', conf, noCache))).to.deep.equal(['docker.io/library/alpine:latest']);
  });

  it('in enforcing mode, refuses several candidates without a terminal, listing them', function () {
    const enforcing = { ...conf, shortNameMode: 'enforcing' as const, shortNameModeOrigin: '/etc/containers/registries.conf' };
    expect(() => resolveShortName('busybox', enforcing, noCache)).to.throw(
      'short name "busybox" is ambiguous: it may mean registry.fedoraproject.org/busybox:latest, quay.io/busybox:latest, docker.io/library/busybox:latest; ' +
        'short-name-mode is "enforcing" (/etc/containers/registries.conf) and there is no terminal to choose on',
    );
    expect(resolveShortName('busybox', enforcing, { ...noCache, interactive: true })).to.have.length(3);
    expect(names(resolveShortName('alpine', enforcing, noCache))).to.deep.equal(['docker.io/library/alpine:latest']);
    const one = { ...enforcing, unqualifiedSearchRegistries: ['quay.io'] };
    expect(names(resolveShortName('busybox', one, noCache))).to.deep.equal(['quay.io/busybox:latest']);
  });

  it('in permissive and disabled modes, returns every candidate to try in order', function () {
    for (const mode of ['permissive', 'disabled'] as const) {
      expect(resolveShortName('busybox', { ...conf, shortNameMode: mode }, noCache), mode).to.have.length(3);
    }
  });

  it('refuses a short name when no search registries are configured', function () {
    expect(() => resolveShortName('busybox', emptyRegistriesConf(), noCache)).to.throw(
      'short name "busybox" did not resolve to an alias and no containers-registries.conf(5) was found',
    );
    const file = path.join(dir, 'registries.conf');
    const none = { ...conf, unqualifiedSearchRegistries: [], searchOrigin: file };
    expect(() => resolveShortName('busybox', none, noCache)).to.throw(`no unqualified-search registries are defined in ${file}`);
  });

  it('refuses names that are not references', function () {
    for (const bad of ['Busybox', 'busybox:', '-x', 'a'.repeat(64), '']) {
      expect(() => resolveShortName(bad, conf, noCache), bad).to.throw(/invalid image name/);
    }
  });
});
