import { expect } from 'chai';
import { UsageError } from '../../lib/errors.js';
import { applyConfig, expandVars, isValidSignal, parseDuration, splitWords, type ConfigOptions } from '../../lib/builder/config-edit.js';
import type { BuilderRecord } from '../../lib/builder/types.js';

const S = 1_000_000_000;

function record(overrides: Partial<BuilderRecord['image']['config']> = {}, format?: 'oci' | 'docker'): BuilderRecord {
  const rec: BuilderRecord = {
    id: 'f'.repeat(64),
    name: 'working-container',
    fromImage: 'localhost/base:latest',
    fromImageId: 'e'.repeat(64),
    created: '2024-01-01T00:00:00Z',
    layers: [],
    baseLayerDigests: [],
    driver: 'vfs',
    image: {
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin', 'HOME=/root'], Cmd: ['sh'], Labels: { keep: 'me' }, ...overrides },
      history: [],
      annotations: { 'org.example.a': '1' },
    },
  };
  if (format) rec.format = format;
  return rec;
}

function apply(opts: ConfigOptions, base = record(), environ: Record<string, string> = {}): BuilderRecord {
  return applyConfig(base, opts, { environ });
}

describe('builder/config-edit', () => {
  describe('parseDuration', () => {
    const ok: [string, number][] = [
      ['0', 0],
      ['-0', 0],
      ['+0', 0],
      ['5s', 5 * S],
      ['30s', 30 * S],
      ['1m30s', 90 * S],
      ['1h', 3600 * S],
      ['1.5h', 5400 * S],
      ['-1.5h', -5400 * S],
      ['+2m', 120 * S],
      ['300ms', 300_000_000],
      ['10us', 10_000],
      ['10µs', 10_000],
      ['10μs', 10_000],
      ['7ns', 7],
      ['.5s', 500_000_000],
      ['1.s', S],
      ['2h45m0.5s', (2 * 3600 + 45 * 60) * S + 500_000_000],
      ['1.000000001s', S + 1],
      ['100000h', 100000 * 3600 * S],
      ['9223372036854775807ns', 9223372036854775807],
      ['-9223372036854775808ns', -9223372036854775808],
      ['0.1234567890123456789012345s', 123456789],
    ];
    for (const [input, ns] of ok) {
      it(`${input} -> ${ns}ns`, () => {
        expect(parseDuration(input)).to.equal(ns);
      });
    }
    const bad: [string, string][] = [
      ['', 'time: invalid duration ""'],
      ['s', 'time: invalid duration "s"'],
      ['ABCD', 'time: invalid duration "ABCD"'],
      ['-', 'time: invalid duration "-"'],
      ['.s', 'time: invalid duration ".s"'],
      ['1', 'time: missing unit in duration "1"'],
      ['1m2', 'time: missing unit in duration "1m2"'],
      ['3x', 'time: unknown unit "x" in duration "3x"'],
      ['1 s', 'time: unknown unit " s" in duration "1 s"'],
      ['3000000h', 'time: invalid duration "3000000h"'],
      ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
      ['1µ', 'time: unknown unit "\\xc2\\xb5" in duration "1\\xc2\\xb5"'],
      ['"1s"', 'time: invalid duration "\\"1s\\""'],
    ];
    for (const [input, message] of bad) {
      it(`rejects ${JSON.stringify(input)}`, () => {
        expect(() => parseDuration(input)).to.throw(UsageError).with.property('message', message);
      });
    }
  });

  describe('splitWords', () => {
    const cases: [string, string[] | undefined][] = [
      ['', []],
      ['a b  c', ['a', 'b', 'c']],
      ['  lead trail  ', ['lead', 'trail']],
      [`"a b" 'c d'`, ['a b', 'c d']],
      [`a"b c"d`, ['ab cd']],
      [`"" ''`, ['', '']],
      [`a\\ b`, ['a b']],
      [`"say \\"hi\\""`, ['say "hi"']],
      [`'it\\s'`, ['it\\s']],
      [`"a\\nb"`, ['a\\nb']],
      ['echo a; echo b | c', ['echo', 'a;', 'echo', 'b', '|', 'c']],
      ['$HOME', ['$HOME']],
      [`AB "CD`, undefined],
      [`'open`, undefined],
      ['trailing\\', undefined],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => {
        expect(splitWords(input)).to.deep.equal(want);
      });
    }
  });

  describe('expandVars (Go os.Expand)', () => {
    const vars: Record<string, string> = { foo: 'bar', foo1: 'bar1', A_B: 'x', '1': 'one' };
    const lookup = (n: string): string => vars[n] ?? `<${n}>`;
    const cases: [string, string][] = [
      ['plain', 'plain'],
      ['$foo', 'bar'],
      ['${foo}', 'bar'],
      ['$foo/${foo1}', 'bar/bar1'],
      ['$foo1x', '<foo1x>'],
      ['${foo}1x', 'bar1x'],
      ['$A_B-c', 'x-c'],
      ['$1abc', 'oneabc'],
      ['a$', 'a$'],
      ['a$ b', 'a$ b'],
      ['a${}b', 'ab'],
      ['a${foo', 'afoo'],
      ['$$', '<$>'],
      ['${foo:-d}', '<foo:-d>'],
      ['/x:$foo', '/x:bar'],
    ];
    for (const [input, want] of cases) {
      it(`${input} -> ${want}`, () => {
        expect(expandVars(input, lookup)).to.equal(want);
      });
    }
  });

  describe('isValidSignal', () => {
    const cases: [string, boolean][] = [
      ['SIGTERM', true],
      ['TERM', true],
      ['sigkill', true],
      ['SIGRTMIN+3', true],
      ['RTMAX-1', true],
      ['15', true],
      ['64', true],
      ['0', false],
      ['65', false],
      ['SIGFOO', false],
      ['', false],
      ['SIGRTMIN+31', false],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} -> ${want}`, () => {
        expect(isValidSignal(input)).to.equal(want);
      });
    }
  });

  describe('applyConfig', () => {
    it('returns a new record and leaves the input alone', () => {
      const base = record();
      const before = structuredClone(base);
      const out = apply({ env: ['X=1'], label: ['-'], port: ['80'], user: 'nobody' }, base);
      expect(out).not.to.equal(base);
      expect(base).to.deep.equal(before);
      expect(out.image.config.User).to.equal('nobody');
    });

    it('changes nothing when no option is given', () => {
      const base = record();
      expect(apply({}, base)).to.deep.equal(base);
    });

    type Case = [string, ConfigOptions, (r: BuilderRecord) => unknown, unknown, BuilderRecord?];
    const cfg = (r: BuilderRecord) => r.image.config;
    const cases: Case[] = [
      // entrypoint
      ['entrypoint JSON', { entrypoint: '["/entrypoint.sh", "dev"]' }, (r) => cfg(r).Entrypoint, ['/entrypoint.sh', 'dev']],
      ['entrypoint JSON with spaces', { entrypoint: '[ "/ENTRYPOINT" ]' }, (r) => cfg(r).Entrypoint, ['/ENTRYPOINT']],
      ['entrypoint string -> sh -c', { entrypoint: '/usr/bin/notashell --flag' }, (r) => cfg(r).Entrypoint, ['/bin/sh', '-c', '/usr/bin/notashell --flag']],
      ['entrypoint string ignores the Shell', { entrypoint: 'run' }, (r) => cfg(r).Entrypoint, ['/bin/sh', '-c', 'run'], record({ Shell: ['/bin/bash', '-c'] })],
      ['entrypoint bad JSON -> string form', { entrypoint: '[oops' }, (r) => cfg(r).Entrypoint, ['/bin/sh', '-c', '[oops']],
      ['entrypoint "" clears', { entrypoint: '' }, (r) => 'Entrypoint' in cfg(r), false, record({ Entrypoint: ['/x'] })],
      ['entrypoint spaces clear', { entrypoint: '  ' }, (r) => 'Entrypoint' in cfg(r), false, record({ Entrypoint: ['/x'] })],
      ['entrypoint null clears', { entrypoint: 'null' }, (r) => 'Entrypoint' in cfg(r), false, record({ Entrypoint: ['/x'] })],
      ['entrypoint "" keeps cmd', { entrypoint: '' }, (r) => cfg(r).Cmd, ['sh']],
      ['entrypoint keeps cmd', { entrypoint: '/E' }, (r) => cfg(r).Cmd, ['sh']],
      // cmd
      ['cmd JSON', { cmd: '[ "/COMMAND", "ARG1", "ARG2"]' }, (r) => cfg(r).Cmd, ['/COMMAND', 'ARG1', 'ARG2']],
      ['cmd words', { cmd: 'COMMAND-OR-ARGS' }, (r) => cfg(r).Cmd, ['COMMAND-OR-ARGS']],
      ['cmd quoted words', { cmd: `echo "hello world" 'a b'` }, (r) => cfg(r).Cmd, ['echo', 'hello world', 'a b']],
      ['cmd "" clears', { cmd: '' }, (r) => 'Cmd' in cfg(r), false],
      ['cmd empty JSON array', { cmd: '[]' }, (r) => cfg(r).Cmd, []],
      ['cmd non-string JSON -> words', { cmd: '[1,2]' }, (r) => cfg(r).Cmd, ['[1,2]']],
      ['entrypoint then cmd', { entrypoint: '/E', cmd: 'ARGS' }, (r) => [cfg(r).Entrypoint, cfg(r).Cmd], [['/bin/sh', '-c', '/E'], ['ARGS']]],
      // env
      ['env sets', { env: ['FOO=bar'] }, (r) => cfg(r).Env, ['PATH=/usr/bin:/bin', 'HOME=/root', 'FOO=bar']],
      ['env replaces in place order (moves to end)', { env: ['PATH=/x'] }, (r) => cfg(r).Env, ['HOME=/root', 'PATH=/x']],
      ['env value keeps commas and =', { env: ['V=VALUE1,VALUE2=3'] }, (r) => cfg(r).Env?.at(-1), 'V=VALUE1,VALUE2=3'],
      ['env empty value', { env: ['E='] }, (r) => cfg(r).Env?.at(-1), 'E='],
      ['env expands from the config', { env: ['PATH=$PATH:/opt/bin'] }, (r) => cfg(r).Env?.at(-1), 'PATH=/usr/bin:/bin:/opt/bin'],
      ['env expands earlier --env', { env: ['foo=bar', 'foo1=bar1', 'combined=$foo/${foo1}'] }, (r) => cfg(r).Env?.at(-1), 'combined=bar/bar1'],
      ['env unset variable expands to its name', { env: ['X=$NOPE'] }, (r) => cfg(r).Env?.at(-1), 'X=NOPE'],
      ['env removes', { env: ['HOME-'] }, (r) => cfg(r).Env, ['PATH=/usr/bin:/bin']],
      ['env removing an absent one', { env: ['NOPE-'] }, (r) => cfg(r).Env, ['PATH=/usr/bin:/bin', 'HOME=/root']],
      ['env "-" clears', { env: ['-'] }, (r) => cfg(r).Env, []],
      ['env clear then set', { env: ['-', 'A=1'] }, (r) => cfg(r).Env, ['A=1']],
      ['env numeric name', { env: ['1234=5678'] }, (r) => cfg(r).Env?.at(-1), '1234=5678'],
      ['env on an image without env', { env: ['A=$A'] }, (r) => cfg(r).Env, ['A=A'], record({ Env: undefined })],
      // labels and annotations
      ['label sets', { label: ['Name=Mycontainer', 'Version=1.0'] }, (r) => cfg(r).Labels, { keep: 'me', Name: 'Mycontainer', Version: '1.0' }],
      ['label value with = and spaces', { label: ['exec=podman run --mount=type=bind,src=a /x'] }, (r) => cfg(r).Labels?.exec, 'podman run --mount=type=bind,src=a /x'],
      ['label without = sets ""', { label: ['LABEL'] }, (r) => cfg(r).Labels?.LABEL, ''],
      ['label removes', { label: ['keep-'] }, (r) => cfg(r).Labels, {}],
      ['label "-" clears', { label: ['-', 'a=b'] }, (r) => cfg(r).Labels, { a: 'b' }],
      ['label "k-=v" sets key "k-"', { label: ['k-=v'] }, (r) => cfg(r).Labels?.['k-'], 'v'],
      ['label on image without labels', { label: ['a=b'] }, (r) => cfg(r).Labels, { a: 'b' }, record({ Labels: undefined })],
      ['annotation sets', { annotation: ['note=myNote'] }, (r) => r.image.annotations, { 'org.example.a': '1', note: 'myNote' }],
      ['annotation removes', { annotation: ['org.example.a-'] }, (r) => r.image.annotations, {}],
      ['annotation "-" clears', { annotation: ['-'] }, (r) => r.image.annotations, {}],
      ['annotation without = sets ""', { annotation: ['ANNOTATION'] }, (r) => r.image.annotations.ANNOTATION, ''],
      // ports
      ['port plain', { port: ['80'] }, (r) => cfg(r).ExposedPorts, { '80': {} }],
      ['port with protocols', { port: ['514/tcp', '514/udp', '9/SCTP'] }, (r) => cfg(r).ExposedPorts, { '514/tcp': {}, '514/udp': {}, '9/sctp': {} }],
      ['port comma list', { port: ['1234,8080'] }, (r) => cfg(r).ExposedPorts, { '1234': {}, '8080': {} }],
      ['port range', { port: ['8000-8010/tcp'] }, (r) => cfg(r).ExposedPorts, { '8000-8010/tcp': {} }],
      ['port equivalent not duplicated', { port: ['80'] }, (r) => cfg(r).ExposedPorts, { '80/tcp': {} }, record({ ExposedPorts: { '80/tcp': {} } })],
      ['port removes', { port: ['12345-'] }, (r) => cfg(r).ExposedPorts, { '53/udp': {} }, record({ ExposedPorts: { '12345': {}, '53/udp': {} } })],
      ['port removes the /tcp equivalent', { port: ['80-'] }, (r) => cfg(r).ExposedPorts, {}, record({ ExposedPorts: { '80/tcp': {} } })],
      ['port removal keeps udp', { port: ['53/tcp-'] }, (r) => cfg(r).ExposedPorts, { '53/udp': {} }, record({ ExposedPorts: { '53/udp': {}, '53': {} } })],
      ['port "-" clears', { port: ['-'] }, (r) => cfg(r).ExposedPorts, {}, record({ ExposedPorts: { '80/tcp': {} } })],
      // volumes
      ['volume adds', { volume: ['/data', '/VOLUME'] }, (r) => cfg(r).Volumes, { '/data': {}, '/VOLUME': {} }],
      ['volume comma list', { volume: ['/a,/b'] }, (r) => Object.keys(cfg(r).Volumes ?? {}), ['/a', '/b']],
      ['volume removes', { volume: ['/data-'] }, (r) => cfg(r).Volumes, { '/other': {} }, record({ Volumes: { '/data': {}, '/other': {} } })],
      ['volume removing an absent one', { volume: ['/nope-'] }, (r) => 'Volumes' in cfg(r), false],
      ['volume "-" clears', { volume: ['-'] }, (r) => cfg(r).Volumes, {}, record({ Volumes: { '/data': {} } })],
      // plain settings
      ['workingdir', { workingdir: '/tmp' }, (r) => cfg(r).WorkingDir, '/tmp'],
      ['workingdir "" clears', { workingdir: '' }, (r) => 'WorkingDir' in cfg(r), false, record({ WorkingDir: '/x' })],
      ['user', { user: 'likes:things' }, (r) => cfg(r).User, 'likes:things'],
      ['user "" clears', { user: '' }, (r) => 'User' in cfg(r), false, record({ User: 'root' })],
      ['stop-signal', { stopSignal: 'SIGINT' }, (r) => cfg(r).StopSignal, 'SIGINT'],
      ['stop-signal number kept as given', { stopSignal: '9' }, (r) => cfg(r).StopSignal, '9'],
      ['stop-signal "" clears', { stopSignal: '' }, (r) => 'StopSignal' in cfg(r), false, record({ StopSignal: 'SIGTERM' })],
      ['domainname', { domainname: 'mydomain.local' }, (r) => cfg(r).Domainname, 'mydomain.local'],
      ['hostname', { hostname: 'cleverhostname' }, (r) => cfg(r).Hostname, 'cleverhostname'],
      ['hostname "" clears', { hostname: '' }, (r) => 'Hostname' in cfg(r), false, record({ Hostname: 'h' })],
      ['onbuild appends', { onbuild: ['RUN touch /foo', 'RUN b'] }, (r) => cfg(r).OnBuild, ['RUN a', 'RUN touch /foo', 'RUN b'], record({ OnBuild: ['RUN a'] })],
      ['onbuild ignores empty', { onbuild: [''] }, (r) => 'OnBuild' in cfg(r), false],
      // shell
      ['shell words', { shell: '/bin/bash -c' }, (r) => cfg(r).Shell, ['/bin/bash', '-c']],
      ['shell single', { shell: '/bin/arbitrarysh' }, (r) => cfg(r).Shell, ['/bin/arbitrarysh']],
      ['shell JSON', { shell: '["/bin/bash", "-eu", "-c"]' }, (r) => cfg(r).Shell, ['/bin/bash', '-eu', '-c']],
      ['shell "" clears', { shell: '' }, (r) => 'Shell' in cfg(r), false, record({ Shell: ['/bin/zsh'] })],
      // image-level
      ['author', { author: 'Jane Austen' }, (r) => r.image.author, 'Jane Austen'],
      ['created-by', { createdBy: 'COINCIDENCE' }, (r) => r.image.createdBy, 'COINCIDENCE'],
      ['comment', { comment: 'INFORMATIVE' }, (r) => r.image.comment, 'INFORMATIVE'],
      ['history-comment', { historyComment: 'PROBABLY-EMPTY' }, (r) => r.image.historyComment, 'PROBABLY-EMPTY'],
      ['author "" clears', { author: '' }, (r) => 'author' in r.image, false],
      ['arch/os/variant', { arch: 'arm64', os: 'linux', variant: 'v8' }, (r) => [r.image.architecture, r.image.os, r.image.variant], ['arm64', 'linux', 'v8']],
      ['variant "" clears', { variant: '' }, (r) => 'variant' in r.image, false],
      // health checks
      [
        'healthcheck with every setting',
        { healthcheck: 'CMD /bin/true', healthcheckStartPeriod: '5s', healthcheckStartInterval: '30s', healthcheckInterval: '6s', healthcheckTimeout: '7s', healthcheckRetries: 8 },
        (r) => cfg(r).Healthcheck,
        { Test: ['CMD', '/bin/true'], Interval: 6 * S, Timeout: 7 * S, Retries: 8, StartPeriod: 5 * S, StartInterval: 30 * S },
      ],
      ['healthcheck defaults', { healthcheck: 'CMD curl -f http://localhost/' }, (r) => cfg(r).Healthcheck, { Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 30 * S, Timeout: 30 * S, Retries: 3 }],
      ['healthcheck CMD JSON', { healthcheck: 'CMD ["curl", "-f", "http://x"]' }, (r) => cfg(r).Healthcheck?.Test, ['CMD', 'curl', '-f', 'http://x']],
      ['healthcheck CMD-SHELL keeps the command whole', { healthcheck: 'CMD-SHELL curl -f http://x || exit 1' }, (r) => cfg(r).Healthcheck?.Test, ['CMD-SHELL', 'curl -f http://x || exit 1']],
      ['healthcheck lower-case kind', { healthcheck: 'cmd true' }, (r) => cfg(r).Healthcheck?.Test, ['CMD', 'true']],
      ['healthcheck NONE', { healthcheck: 'NONE' }, (r) => cfg(r).Healthcheck?.Test, ['NONE']],
      ['healthcheck "" removes', { healthcheck: '' }, (r) => 'Healthcheck' in cfg(r), false, record({ Healthcheck: { Test: ['CMD', 'x'] } })],
      ['healthcheck interval alone starts from NONE', { healthcheckInterval: '1m30s' }, (r) => cfg(r).Healthcheck, { Test: ['NONE'], Interval: 90 * S, Timeout: 30 * S, Retries: 3 }],
      ['healthcheck interval keeps the test', { healthcheckInterval: '10s' }, (r) => cfg(r).Healthcheck, { Test: ['CMD', 'x'], Interval: 10 * S, Retries: 1 }, record({ Healthcheck: { Test: ['CMD', 'x'], Interval: S, Retries: 1 } })],
      ['healthcheck retries 0', { healthcheckRetries: 0 }, (r) => cfg(r).Healthcheck?.Retries, 0],
      ['healthcheck start interval alone', { healthcheckStartInterval: '2s' }, (r) => cfg(r).Healthcheck?.StartInterval, 2 * S],
    ];
    for (const [name, opts, pick, want, base] of cases) {
      it(name, () => {
        expect(pick(apply(opts, base ?? record()))).to.deep.equal(want);
      });
    }

    it('takes a bare --env NAME from the given environment', () => {
      expect(apply({ env: ['foo'] }, record(), { foo: 'bar' }).image.config.Env?.at(-1)).to.equal('foo=bar');
    });

    it('takes a bare --env NAME from process.env by default', () => {
      const name = 'HOD_CONFIG_EDIT_TEST_VAR';
      process.env[name] = 'from-process';
      try {
        expect(applyConfig(record(), { env: [name] }).image.config.Env?.at(-1)).to.equal(`${name}=from-process`);
      } finally {
        delete process.env[name];
      }
    });

    it('warns as buildah does', () => {
      const warnings: string[] = [];
      applyConfig(record(), { env: ['X=$NOPE'], entrypoint: '/E', healthcheck: 'CMD true', onbuild: ['RUN x'] }, { environ: {}, warn: (m) => warnings.push(m) });
      expect(warnings).to.have.length(4);
      expect(warnings[0]).to.match(/error expanding variable "NOPE"/);
      expect(warnings[1]).to.match(/cmd "sh" exists but will be ignored/);
      expect(warnings[2]).to.match(/HEALTHCHECK is not supported for OCI image format/);
      expect(warnings[3]).to.match(/ONBUILD is not supported for OCI image format/);
    });

    it('does not warn about docker-only settings on a docker-format container', () => {
      const warnings: string[] = [];
      applyConfig(record({ Cmd: undefined }, 'docker'), { healthcheck: 'CMD true', shell: 'bash -c', hostname: 'h', comment: 'c' }, { warn: (m) => warnings.push(m) });
      expect(warnings).to.deep.equal([]);
    });

    const bad: [string, ConfigOptions, RegExp][] = [
      ['unterminated cmd', { cmd: 'AB "CD' }, /^parsing --cmd "AB \\"CD": invalid command line string$/],
      ['unterminated shell', { shell: 'AB "CD' }, /^parsing --shell "AB \\"CD": invalid command line string$/],
      ['bad shell JSON', { shell: '["/bin/sh", ' }, /^parsing --shell .*invalid JSON array/],
      ['unterminated healthcheck', { healthcheck: 'AB "CD' }, /^parsing --healthcheck "AB \\"CD": invalid command line string$/],
      ['unknown healthcheck kind', { healthcheck: '/bin/true' }, /^parsing --healthcheck "\/bin\/true": must be NONE/],
      ['healthcheck CMD without command', { healthcheck: 'CMD' }, /CMD requires a command/],
      ['healthcheck NONE with arguments', { healthcheck: 'NONE x' }, /NONE takes no arguments/],
      ['bad interval', { healthcheckInterval: 'ABCD' }, /^parsing --healthcheck-interval "ABCD": time: invalid duration "ABCD"$/],
      ['interval without unit', { healthcheckTimeout: '30' }, /^parsing --healthcheck-timeout "30": time: missing unit in duration "30"$/],
      ['negative start period', { healthcheckStartPeriod: '-1s' }, /^parsing --healthcheck-start-period "-1s": must not be negative$/],
      ['bad start interval', { healthcheckStartInterval: '1y' }, /unknown unit "y"/],
      ['negative retries', { healthcheckRetries: -1 }, /^parsing --healthcheck-retries "-1"/],
      ['fractional retries', { healthcheckRetries: 1.5 }, /healthcheck-retries/],
      ['bare env not set', { env: ['ENV'] }, /^setting env "ENV": no value given$/],
      ['env without a name', { env: ['=x'] }, /^parsing --env "=x": no variable name$/],
      ['bad port', { port: ['http'] }, /^parsing --port "http": invalid port/],
      ['port out of range', { port: ['70000'] }, /^parsing --port "70000": port numbers must be between 0 and 65535$/],
      ['bad protocol', { port: ['80/icmp'] }, /^parsing --port "80\/icmp": invalid protocol "icmp"$/],
      ['backwards range', { port: ['90-80'] }, /invalid port range/],
      ['unknown signal', { stopSignal: 'SIGFOO' }, /^parsing --stop-signal "SIGFOO": invalid signal$/],
      ['empty arch', { arch: '' }, /^parsing --arch "": architecture must not be empty$/],
      ['empty os', { os: '' }, /^parsing --os "": operating system must not be empty$/],
    ];
    for (const [name, opts, re] of bad) {
      it(`rejects ${name}`, () => {
        const base = record();
        const before = structuredClone(base);
        expect(() => apply(opts, base))
          .to.throw(UsageError)
          .with.property('message')
          .that.matches(re);
        expect(base).to.deep.equal(before);
      });
    }
  });
});
