/**
 * `buildah config` flags applied to a working container's record, following buildah's cmd/buildah/config.go
 * and docs/buildah-config.1.md. Pure: the record passed in is not modified; a changed deep copy is returned.
 * Nothing is applied when a value is invalid (UsageError naming the flag and value).
 */
import { UsageError } from '../errors.js';
import type { ContainerConfig, HealthConfig } from '../image/types.js';
import type { BuilderRecord } from './types.js';

export interface ConfigOptions {
  /** JSON array (exec form), or a string run as ["/bin/sh", "-c", string]; "" (or only spaces) clears. */
  entrypoint?: string;
  /** JSON array, or shell words split as a shell would (no shell is added); "" (or only spaces) clears. */
  cmd?: string;
  /** "K=V" sets (V has $VAR / ${VAR} expanded against the config's env), "K-" removes, "-" removes all, "K" takes hod's own env. */
  env?: string[];
  /** "k=v" sets, "k" sets "", "k-" removes, "-" removes all. */
  label?: string[];
  annotation?: string[];
  workingdir?: string;
  user?: string;
  /** "80", "80/tcp", "53/udp", "8000-8010/tcp"; "80-" removes, "-" removes all. Comma-separated lists are split. */
  port?: string[];
  /** "/data" adds, "/data-" removes, "-" removes all. Comma-separated lists are split. */
  volume?: string[];
  stopSignal?: string;
  author?: string;
  createdBy?: string;
  comment?: string;
  historyComment?: string;
  /** JSON array, or shell words. "" clears. */
  shell?: string;
  arch?: string;
  os?: string;
  variant?: string;
  /** "CMD args...", "CMD [json]", "CMD-SHELL command", "NONE", or "" to remove the health check. */
  healthcheck?: string;
  healthcheckInterval?: string;
  healthcheckRetries?: number;
  healthcheckStartPeriod?: string;
  healthcheckTimeout?: string;
  healthcheckStartInterval?: string;
  /** Appended to the ONBUILD triggers. */
  onbuild?: string[];
  domainname?: string;
  hostname?: string;
}

export interface ConfigContext {
  /** Where a bare "--env NAME" takes its value from; process.env when not given. */
  environ?: Record<string, string | undefined>;
  /** Receives the warnings buildah prints (docker-only settings on an OCI container, cmd/entrypoint interplay, unset variables). */
  warn?: (message: string) => void;
  /** Take `--env K=V` values as they are, without expanding $VAR (`bud` has expanded them already). */
  literalEnv?: boolean;
}

const SECOND = 1_000_000_000;
/** What buildah starts from when a health-check flag is given and the image has no health check. */
const DEFAULT_HEALTHCHECK: HealthConfig = { Test: ['NONE'], Interval: 30 * SECOND, Timeout: 30 * SECOND, Retries: 3 };

function usage(flag: string, value: string, why: string): UsageError {
  return new UsageError(`parsing --${flag} ${JSON.stringify(value)}: ${why}`);
}

// ---------------------------------------------------------------------------------------------------------
// Durations

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5
  'μs': 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const I64_LIMIT = 1n << 63n;

/** The time package's quoting in its error messages: control and non-ASCII characters as \x bytes. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || cp >= 0x80) for (const b of Buffer.from(ch, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return `${out}"`;
}

/**
 * Go's time.ParseDuration: a signed sequence of decimal numbers, each with an optional fraction and a unit
 * (ns, us, µs, ms, s, m, h), e.g. "300ms", "-1.5h", "1h30m". Returns nanoseconds. Throws UsageError with
 * Go's message ("time: invalid duration ...", "time: missing unit ...", "time: unknown unit ...").
 */
export function parseDuration(s: string): number {
  const orig = s;
  const invalid = (): UsageError => new UsageError(`time: invalid duration ${goTimeQuote(orig)}`);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // whole part
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > I64_LIMIT) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // fraction
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (f > (I64_LIMIT - 1n) / 10n || y > I64_LIMIT) overflow = true;
          else {
            f = y;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    // unit
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new UsageError(`time: missing unit in duration ${goTimeQuote(orig)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = UNIT_NS[unitName];
    if (unit === undefined) throw new UsageError(`time: unknown unit ${goTimeQuote(unitName)} in duration ${goTimeQuote(orig)}`);
    if (v > I64_LIMIT / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > I64_LIMIT) throw invalid();
    }
    total += v;
    if (total > I64_LIMIT) throw invalid();
  }
  if (!neg && total > I64_LIMIT - 1n) throw invalid();
  const n = Number(total);
  return neg && n !== 0 ? -n : n;
}

// ---------------------------------------------------------------------------------------------------------
// Words, JSON arrays, expansion

/**
 * Splits a command line into words as a POSIX shell would, without expansions: single quotes are literal,
 * double quotes allow \" \\ \$ \` escapes, a backslash outside quotes escapes any character, and "" or ''
 * give an empty word. Operators (; | & < >) are ordinary characters. Returns undefined for an unterminated
 * quote or a trailing backslash.
 */
export function splitWords(s: string): string[] | undefined {
  const words: string[] = [];
  let buf = '';
  let got = false;
  let sq = false;
  let dq = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (sq) {
      if (c === "'") sq = false;
      else buf += c;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= s.length) return undefined;
      const n = s[++i]!;
      if (n === '\n') continue; // line continuation
      if (dq && !'"\\$`'.includes(n)) buf += c;
      buf += n;
      got = true;
      continue;
    }
    if (dq) {
      if (c === '"') dq = false;
      else buf += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (got) words.push(buf);
      buf = '';
      got = false;
      continue;
    }
    if (c === "'") sq = true;
    else if (c === '"') dq = true;
    else buf += c;
    got = true;
  }
  if (sq || dq) return undefined;
  if (got) words.push(buf);
  return words;
}

function words(flag: string, value: string): string[] {
  const w = splitWords(value);
  if (w === undefined) throw usage(flag, value, 'invalid command line string');
  return w;
}

/** A JSON array of strings (or JSON null -> null), as Go's json.Unmarshal into []string accepts; undefined otherwise. */
function jsonStringArray(value: string): string[] | null | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (parsed === null) return null;
  if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
  return undefined;
}

function isShellSpecial(c: string | undefined): boolean {
  return c !== undefined && c !== '' && '*#$@!?-0123456789'.includes(c);
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_]$/.test(c);
}

/** Go's os.Expand: $NAME, ${NAME} and the one-character specials; "${}" and an unclosed "${" are dropped. */
export function expandVars(s: string, lookup: (name: string) => string): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const rest = s.slice(j + 1);
    let name = '';
    let w = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && isShellSpecial(rest[1]) && rest[2] === '}') {
        name = rest[1]!;
        w = 3;
      } else {
        const close = rest.indexOf('}', 1);
        if (close === 1) w = 2;
        else if (close < 0) w = 1;
        else {
          name = rest.slice(1, close);
          w = close + 1;
        }
      }
    } else if (isShellSpecial(rest[0])) {
      name = rest[0]!;
      w = 1;
    } else {
      while (isAlnum(rest[w])) w++;
      name = rest.slice(0, w);
    }
    if (name === '' && w === 0) out += '$';
    else if (name !== '') out += lookup(name);
    j += w;
    i = j + 1;
  }
  return out + s.slice(i);
}

// ---------------------------------------------------------------------------------------------------------
// Ports and signals

const PORT_RE = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/([A-Za-z]+))?$/;

/** Validates "port[-port][/proto]"; returns the spec with its protocol lower-cased. */
function checkPort(spec: string): string {
  const m = PORT_RE.exec(spec);
  if (!m) throw usage('port', spec, 'invalid port, expected port[-port][/tcp|udp|sctp]');
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535) throw usage('port', spec, 'port numbers must be between 0 and 65535');
  if (hi < lo) throw usage('port', spec, 'invalid port range');
  const proto = m[3]?.toLowerCase();
  if (proto !== undefined && proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw usage('port', spec, `invalid protocol "${m[3]}"`);
  return proto === undefined ? spec : `${spec.slice(0, spec.lastIndexOf('/'))}/${proto}`;
}

/** "80" and "80/tcp" name the same port. */
function portKey(spec: string): string {
  const m = PORT_RE.exec(spec);
  if (!m) return spec;
  const range = m[2] === undefined ? String(Number(m[1])) : `${Number(m[1])}-${Number(m[2])}`;
  return `${range}/${(m[3] ?? 'tcp').toLowerCase()}`;
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH',
  'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
]);

/** Whether `s` names a Linux signal as Docker's ParseSignal accepts it: "SIGTERM", "term", "15", "SIGRTMIN+3". */
export function isValidSignal(s: string): boolean {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= 64;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.has(name)) return true;
  const rt = /^RTM(IN\+|AX-)(\d+)$/.exec(name);
  return rt !== null && Number(rt[2]) >= 1 && Number(rt[2]) <= 30;
}

// ---------------------------------------------------------------------------------------------------------
// Health checks

function parseHealthTest(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed === '') return [];
  words('healthcheck', value); // unbalanced quotes are an error whatever the form
  const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
  const kind = m[1]!.toUpperCase();
  const rest = m[2]!;
  switch (kind) {
    case 'NONE':
      if (rest !== '') throw usage('healthcheck', value, 'NONE takes no arguments');
      return ['NONE'];
    case 'CMD': {
      const exec = rest.startsWith('[') ? jsonStringArray(rest) : undefined;
      const args = exec ?? words('healthcheck', rest);
      if (args.length === 0) throw usage('healthcheck', value, 'CMD requires a command');
      return ['CMD', ...args];
    }
    case 'CMD-SHELL':
      if (rest === '') throw usage('healthcheck', value, 'CMD-SHELL requires a command');
      return ['CMD-SHELL', rest];
    default:
      throw usage('healthcheck', value, 'must be NONE, "CMD ...", "CMD-SHELL ..." or ""');
  }
}

function duration(flag: string, value: string): number {
  let ns: number;
  try {
    ns = parseDuration(value);
  } catch (e) {
    throw usage(flag, value, (e as Error).message);
  }
  if (ns < 0) throw usage(flag, value, 'must not be negative');
  return ns;
}

// ---------------------------------------------------------------------------------------------------------

/** "k=v" sets, "k" sets "", "k-" removes, "-" clears: --label and --annotation. */
function applyKeyValues(target: Record<string, string>, specs: string[]): Record<string, string> {
  let out = target;
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq >= 0) out[spec.slice(0, eq)] = spec.slice(eq + 1);
    else if (spec === '-') out = {};
    else if (spec.endsWith('-')) delete out[spec.slice(0, -1)];
    else out[spec] = '';
  }
  return out;
}

function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function setOrDelete<K extends keyof ContainerConfig>(config: ContainerConfig, key: K, value: ContainerConfig[K] | ''): void {
  if (value === '' || value === undefined) delete config[key];
  else config[key] = value as ContainerConfig[K];
}

/**
 * Applies `buildah config` options to a copy of `rec` and returns it; `rec` itself is left alone. Options
 * that are undefined are not touched. The order is buildah's (so --env expansion sees earlier --env values).
 */
export function applyConfig(rec: BuilderRecord, opts: ConfigOptions, ctx: ConfigContext = {}): BuilderRecord {
  const out = structuredClone(rec);
  const img = out.image;
  const config = img.config;
  const warn = ctx.warn ?? (() => undefined);
  const environ = ctx.environ ?? process.env;
  const dockerOnly = (what: string, value: string): void => {
    if (value !== '' && out.format !== 'docker') warn(`${what} is not supported for OCI image format, ${what.toLowerCase()} ${value} will be ignored. Must use \`docker\` format`);
  };

  if (opts.author !== undefined) {
    if (opts.author === '') delete img.author;
    else img.author = opts.author;
  }
  if (opts.createdBy !== undefined) {
    if (opts.createdBy === '') delete img.createdBy;
    else img.createdBy = opts.createdBy;
  }
  if (opts.arch !== undefined) {
    if (opts.arch === '') throw usage('arch', opts.arch, 'architecture must not be empty');
    img.architecture = opts.arch;
  }
  if (opts.variant !== undefined) {
    if (opts.variant === '') delete img.variant;
    else img.variant = opts.variant;
  }
  if (opts.os !== undefined) {
    if (opts.os === '') throw usage('os', opts.os, 'operating system must not be empty');
    img.os = opts.os;
  }
  if (opts.user !== undefined) setOrDelete(config, 'User', opts.user);
  if (opts.shell !== undefined) {
    const v = opts.shell;
    let shell: string[];
    if (v.trim().startsWith('[')) {
      const parsed = jsonStringArray(v);
      if (!parsed) throw usage('shell', v, 'invalid JSON array of strings');
      shell = parsed;
    } else {
      shell = words('shell', v);
    }
    if (shell.length === 0) delete config.Shell;
    else {
      config.Shell = shell;
      dockerOnly('SHELL', shell.join(' '));
    }
  }
  if (opts.stopSignal !== undefined) {
    const v = opts.stopSignal;
    if (v !== '' && !isValidSignal(v)) throw usage('stop-signal', v, 'invalid signal');
    setOrDelete(config, 'StopSignal', v);
  }
  if (opts.port !== undefined) {
    for (const spec of splitList(opts.port)) {
      if (spec === '-') config.ExposedPorts = {};
      else if (spec.endsWith('-')) {
        const key = portKey(spec.slice(0, -1));
        for (const p of Object.keys(config.ExposedPorts ?? {})) if (p === spec.slice(0, -1) || portKey(p) === key) delete config.ExposedPorts![p];
      } else {
        const p = checkPort(spec);
        const ports = (config.ExposedPorts ??= {});
        if (!Object.keys(ports).some((x) => portKey(x) === portKey(p))) ports[p] = {};
      }
    }
  }
  if (opts.env !== undefined) {
    for (const spec of opts.env) {
      const eq = spec.indexOf('=');
      if (eq >= 0) {
        const name = spec.slice(0, eq);
        if (name === '') throw usage('env', spec, 'no variable name');
        const value = ctx.literalEnv ? spec.slice(eq + 1) : expandVars(spec.slice(eq + 1), (v) => {
          const found = (config.Env ?? []).find((e) => e.startsWith(`${v}=`));
          if (found !== undefined) return found.slice(v.length + 1);
          warn(`error expanding variable "${v}": no value set in configuration`);
          return v; // buildah substitutes the variable's name
        });
        config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${name}=`)), `${name}=${value}`];
      } else if (spec === '-') {
        config.Env = [];
      } else if (spec.endsWith('-')) {
        const name = spec.slice(0, -1);
        config.Env = (config.Env ?? []).filter((e) => !e.startsWith(`${name}=`));
      } else {
        if (spec === '') throw usage('env', spec, 'no variable name');
        const value = environ[spec];
        if (value === undefined || value === '') throw new UsageError(`setting env ${JSON.stringify(spec)}: no value given`);
        config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${spec}=`)), `${spec}=${value}`];
      }
    }
  }
  if (opts.entrypoint !== undefined) {
    const v = opts.entrypoint;
    const cmd = config.Cmd ?? [];
    if (v.trim() === '') delete config.Entrypoint;
    else {
      const exec = jsonStringArray(v);
      if (exec === null) delete config.Entrypoint;
      else if (exec !== undefined) {
        config.Entrypoint = exec;
        if (cmd.length > 0) warn(`cmd ${JSON.stringify(cmd.join(' '))} exists and will be passed to entrypoint as a parameter`);
      } else {
        config.Entrypoint = ['/bin/sh', '-c', v];
        if (cmd.length > 0) warn(`cmd ${JSON.stringify(cmd.join(' '))} exists but will be ignored because of entrypoint settings`);
      }
    }
  }
  if (opts.cmd !== undefined) {
    const v = opts.cmd;
    if (v.trim() === '') delete config.Cmd;
    else {
      const exec = jsonStringArray(v);
      if (exec === null) delete config.Cmd;
      else config.Cmd = exec ?? words('cmd', v);
    }
  }
  if (opts.volume !== undefined) {
    for (const spec of splitList(opts.volume)) {
      if (spec === '-') config.Volumes = {};
      else if (spec.endsWith('-')) {
        if (config.Volumes) delete config.Volumes[spec.slice(0, -1)];
      } else {
        (config.Volumes ??= {})[spec] = {};
      }
    }
  }
  const hcFlags = [opts.healthcheck, opts.healthcheckInterval, opts.healthcheckRetries, opts.healthcheckStartPeriod, opts.healthcheckStartInterval, opts.healthcheckTimeout];
  if (hcFlags.some((f) => f !== undefined)) {
    const hc: HealthConfig = structuredClone(config.Healthcheck ?? DEFAULT_HEALTHCHECK);
    if (opts.healthcheck !== undefined) hc.Test = parseHealthTest(opts.healthcheck);
    if (opts.healthcheckInterval !== undefined) hc.Interval = duration('healthcheck-interval', opts.healthcheckInterval);
    if (opts.healthcheckRetries !== undefined) {
      const r = opts.healthcheckRetries;
      if (!Number.isInteger(r) || r < 0) throw usage('healthcheck-retries', String(r), 'must be a non-negative integer');
      hc.Retries = r;
    }
    if (opts.healthcheckStartPeriod !== undefined) hc.StartPeriod = duration('healthcheck-start-period', opts.healthcheckStartPeriod);
    if (opts.healthcheckStartInterval !== undefined) hc.StartInterval = duration('healthcheck-start-interval', opts.healthcheckStartInterval);
    if (opts.healthcheckTimeout !== undefined) hc.Timeout = duration('healthcheck-timeout', opts.healthcheckTimeout);
    if (!hc.Test || hc.Test.length === 0) delete config.Healthcheck;
    else {
      config.Healthcheck = hc;
      dockerOnly('HEALTHCHECK', hc.Test.join(' '));
    }
  }
  if (opts.label !== undefined && opts.label.length > 0) config.Labels = applyKeyValues(config.Labels ?? {}, opts.label);
  if (opts.workingdir !== undefined) setOrDelete(config, 'WorkingDir', opts.workingdir);
  if (opts.comment !== undefined) {
    if (opts.comment === '') delete img.comment;
    else {
      img.comment = opts.comment;
      dockerOnly('COMMENT', opts.comment);
    }
  }
  if (opts.historyComment !== undefined) {
    if (opts.historyComment === '') delete img.historyComment;
    else img.historyComment = opts.historyComment;
  }
  if (opts.domainname !== undefined) {
    setOrDelete(config, 'Domainname', opts.domainname);
    dockerOnly('DOMAINNAME', opts.domainname);
  }
  if (opts.hostname !== undefined) {
    setOrDelete(config, 'Hostname', opts.hostname);
    dockerOnly('HOSTNAME', opts.hostname);
  }
  if (opts.onbuild !== undefined) {
    for (const trigger of opts.onbuild) {
      if (trigger.trim() === '') continue;
      config.OnBuild = [...(config.OnBuild ?? []), trigger];
      dockerOnly('ONBUILD', trigger);
    }
  }
  if (opts.annotation !== undefined && opts.annotation.length > 0) img.annotations = applyKeyValues(img.annotations ?? {}, opts.annotation);
  return out;
}
