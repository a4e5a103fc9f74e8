/**
 * `hod run`: a command in a working container through an OCI runtime (runc by default). The container's
 * root filesystem is mounted, a bundle (config.json and the generated /etc/hosts, /etc/resolv.conf and
 * /etc/hostname, bound in so they never reach a commit) is written beside its record, and the runtime runs
 * in the foreground with our stdio. Mount targets the runtime had to create in the root filesystem are
 * removed afterwards, so a `run` leaves in the next commit only what the command itself wrote.
 */
import type { StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HodError, UsageError } from '../errors.js';
import { mount } from '../builder/containers.js';
import { tmpName } from '../store/atomic.js';
import { safeJoin } from '../store/pathsafe.js';
import type { Store } from '../store/store.js';
import { parseMountFlag, parseVolumeFlag } from './mounts.js';
import { runtimeSpec, type Mount, type NetworkMode } from './spec.js';
import { resolveUser } from './user.js';
import { DEFAULT_SECCOMP, seccompFor } from './seccomp.js';

/** The profile to apply, or none. A missing default is an error: running unconfined must be asked for. */
function seccompProfile(file: string | undefined): ((caps: string[]) => Record<string, unknown>) | undefined {
  if (!file) return undefined;
  if (file === DEFAULT_SECCOMP && !fs.existsSync(file)) {
    throw new HodError('ESECCOMP', `no seccomp profile at ${file}: install containers-common (golang-github-containers-common), or run with --security-opt seccomp=unconfined`);
  }
  return (caps) => seccompFor(file, caps);
}
import { runRuntime } from './runtime.js';
import { runChroot } from './chroot.js';
import { isRealRoot, outerUid } from '../store/userns.js';
import { newNetnsId, startPrivateNetwork, type PrivateNetwork } from './network.js';

export interface RunOptions {
  user?: string;
  workingDir?: string;
  /** KEY=VALUE, or KEY to take the value from hod's environment. */
  env?: string[];
  tty?: boolean;
  network?: NetworkMode;
  /** `-v SRC:DEST[:ro|rw]`. */
  volumes?: string[];
  /** `--mount type=bind|tmpfs,...`. */
  mounts?: string[];
  hostname?: string;
  capAdd?: string[];
  capDrop?: string[];
  /** The OCI runtime program (default runc). */
  runtime?: string;
  /** `--security-opt` values: `seccomp=unconfined` or `seccomp=PROFILE.json`. */
  securityOpts?: string[];
  /** `--add-host NAME:IP`, added to the generated /etc/hosts. */
  addHosts?: string[];
  /** `--dns IP`: the nameservers of the generated /etc/resolv.conf instead of the host's. */
  dns?: string[];
  /** oci (runc, the default) or chroot (no runtime: namespaces and a chroot). Default: $HOD_ISOLATION, else oci. */
  isolation?: 'oci' | 'chroot';
  /** The command's stdio (default: hod's own). `bud` gives RUN steps no stdin and sends their output to stderr. */
  stdio?: StdioOptions;
}

/** The seccomp profile file `--security-opt` names: the default one, another, or none ("unconfined"). */
function seccompFile(opts: string[] = []): string | undefined {
  let file: string | undefined = DEFAULT_SECCOMP;
  for (const o of opts) {
    const [k, v = ''] = o.split(/[=:]/, 2);
    if (k !== 'seccomp') throw new UsageError(`--security-opt "${o}": only seccomp=unconfined|PROFILE is supported`);
    file = v === 'unconfined' ? undefined : v;
  }
  return file;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function mergeEnv(image: string[] = [], flags: string[] = [], home: string): string[] {
  const env = new Map<string, string>();
  for (const e of image) {
    const eq = e.indexOf('=');
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  for (const e of flags) {
    const eq = e.indexOf('=');
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
    else if (process.env[e] !== undefined) env.set(e, process.env[e]!);
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** The command's program in the root filesystem, as the runtime will look for it; undefined when absent. */
function findProgram(rootfs: string, prog: string, env: string[]): string | undefined {
  const exists = (p: string) => {
    try {
      return fs.statSync(safeJoin(rootfs, p, { followFinal: true })).isFile();
    } catch {
      return false;
    }
  };
  if (prog.includes('/')) return exists(prog) ? prog : undefined;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return pathVar.split(':').filter(Boolean).map((d) => path.posix.join(d, prog)).find(exists);
}

/** The highest path of `dest` (inside rootfs) that does not exist yet: what mounting there would create. */
function firstMissing(rootfs: string, dest: string): string | undefined {
  let cur = '/';
  for (const part of dest.split('/').filter(Boolean)) {
    cur = path.posix.join(cur, part);
    let host: string;
    try {
      host = safeJoin(rootfs, cur);
    } catch {
      return undefined;
    }
    if (!fs.existsSync(host) && !isSymlink(host)) return cur;
  }
  return undefined;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Remove what the runtime created for a mount target, if it is still the empty thing it made. */
function removeCreated(rootfs: string, rel: string): void {
  let host: string;
  try {
    host = safeJoin(rootfs, rel);
  } catch {
    return;
  }
  const st = fs.lstatSync(host, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory()) {
    // only directories that hold nothing but other created targets
    for (const child of fs.readdirSync(host)) removeCreated(rootfs, path.posix.join(rel, child));
    if (fs.readdirSync(host).length === 0) fs.rmdirSync(host);
  } else if (st.isFile() && st.size === 0) {
    fs.unlinkSync(host);
  }
}

function etcFiles(dir: string, hostname: string, network: NetworkMode, addHosts: string[] = [], dns: string[] = []): Mount[] {
  const extra = addHosts.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0 || i === h.length - 1) throw new UsageError(`--add-host "${h}": expected NAME:IP`);
    return `${h.slice(i + 1)}\t${h.slice(0, i)}\n`;
  });
  const hosts = `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n${extra.join('')}`;
  let resolv = '';
  try {
    resolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolver on the host: an empty file
  }
  if (dns.length) resolv = resolv.split('\n').filter((l) => l.trim() && !/^\s*nameserver\b/.test(l)).concat(dns.map((d) => `nameserver ${d}`)).join('\n') + '\n';
  const files: Record<string, string> = { hosts, 'resolv.conf': network === 'none' ? '' : resolv, hostname: `${hostname}\n` };
  return Object.entries(files).map(([name, text]) => {
    fs.writeFileSync(path.join(dir, name), text);
    return { destination: `/etc/${name}`, type: 'bind', source: path.join(dir, name), options: ['rbind', 'rprivate'] };
  });
}

export async function run(store: Store, nameOrId: string, argv: string[], opts: RunOptions = {}): Promise<number> {
  if (argv.length === 0) throw new UsageError('give the command to run');
  const isolation = opts.isolation ?? isolationFromEnv();
  const { container: rec, path: rootfs } = await mount(store, nameOrId);
  const network = opts.network ?? 'private';

  // flags first: a bad one fails before anything is written
  const userMounts = [...(opts.volumes ?? []).map(parseVolumeFlag), ...(opts.mounts ?? []).map(parseMountFlag)];
  const seccomp = isolation === 'oci' ? seccompProfile(seccompFile(opts.securityOpts)) : undefined;
  const bundle = tmpName(store.paths.container(rec.id), 'run');
  fs.mkdirSync(bundle, { mode: 0o700 });
  // the private network's namespace is made while the rest is prepared, and wired up while the runtime starts
  const netns = isolation === 'oci' && network === 'private' ? newNetnsId(bundle) : undefined;
  let net: PrivateNetwork | undefined;
  let cwd = '/';
  let created: string[] = [];
  try {
    net = netns ? startPrivateNetwork(netns.id, netns.netns) : undefined;
    const config = rec.image.config;
    const user = resolveUser(rootfs, opts.user ?? config.User);
    const env = mergeEnv(config.Env, opts.env, user.home);
    cwd = opts.workingDir || config.WorkingDir || '/';
    if (!findProgram(rootfs, argv[0], env)) throw new HodError('ENOCMD', `"${argv[0]}" not found in the container's root filesystem or its PATH`);
    const hostname = opts.hostname || config.Hostname || rec.id.slice(0, 12);
    const mounts: Mount[] = [...etcFiles(bundle, hostname, network, opts.addHosts, opts.dns), ...userMounts];
    // what the runtime will create to mount on (and the working directory it needs), to take back afterwards
    const targets = ['/proc', '/dev', '/sys', cwd, ...mounts.map((m) => m.destination)];
    created = [...new Set(targets.map((t) => firstMissing(rootfs, t)).filter((t): t is string => !!t))];
    fs.mkdirSync(safeJoin(rootfs, cwd, { followFinal: true }), { recursive: true });
    if (isolation === 'chroot') {
      // nothing makes mount points for us: make them, to be taken back like the runtime's
      for (const m of [{ destination: '/proc' }, { destination: '/dev' }, { destination: '/sys' }, ...mounts]) makeTarget(rootfs, m);
      return await runChroot({ rootfs, args: argv, env, cwd, user, hostname, network, mounts }, opts.stdio);
    }
    const readyFile = path.join(bundle, 'network-ready');
    const spec = runtimeSpec({
      args: argv, env, cwd, user, rootfs, hostname, terminal: !!opts.tty, network, netns: netns?.netns, netReady: net ? readyFile : undefined, mounts,
      capAdd: opts.capAdd, capDrop: opts.capDrop, seccomp,
    });
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    // the command's address goes into its /etc/hosts (written above) before the hook lets the command start;
    // the bundle may be gone already when the runtime failed first
    net?.address.then((a) => {
      fs.appendFileSync(path.join(bundle, 'hosts'), `${a}\t${hostname}\n`);
      fs.writeFileSync(readyFile, 'ok\n');
    }, () => fs.writeFileSync(readyFile, 'failed\n')).catch(() => undefined);
    await net?.created;
    const code = await runRuntime(opts.runtime ?? 'runc', bundle, `hod-${rec.id.slice(0, 12)}-${path.basename(bundle).slice(-8)}`, stateDir(), opts.stdio);
    // a plugin that failed stopped the runtime through its hook: its error says why, the runtime's would not
    await net?.address;
    return code;
  } finally {
    // rootless, the namespace is a file in the bundle: it must be let go before the bundle goes
    await net?.created.catch(() => undefined);
    net?.teardownInBackground();
    // the working directory stays when the command asked for it (a WORKDIR must exist afterwards)
    for (const rel of created) if (rel !== cwd && !cwd.startsWith(`${rel}/`)) removeCreated(rootfs, rel);
    removeBundle(bundle);
  }
}

/**
 * The bundle holds only the files written here: unlinked one by one, as fs.rmSync's recursive walk costs
 * ~1 ms more (its code is compiled on first use); anything else there falls back to it.
 */
function removeBundle(bundle: string): void {
  try {
    for (const name of fs.readdirSync(bundle)) fs.unlinkSync(path.join(bundle, name));
    fs.rmdirSync(bundle);
  } catch {
    fs.rmSync(bundle, { recursive: true, force: true });
  }
}

function isolationFromEnv(): 'oci' | 'chroot' {
  const v = process.env.HOD_ISOLATION;
  if (v === undefined || v === '' || v === 'oci') return 'oci';
  if (v === 'chroot') return 'chroot';
  throw new UsageError(`HOD_ISOLATION: "${v}" is not oci or chroot`);
}

/** An empty directory (or, for a file bound on it, an empty file) where a mount goes, inside rootfs. */
function makeTarget(rootfs: string, m: Mount): void {
  const host = safeJoin(rootfs, m.destination, { followFinal: true });
  if (fs.existsSync(host)) return;
  const isFile = m.source !== undefined && m.type === 'bind' && fs.statSync(m.source).isFile();
  fs.mkdirSync(isFile ? path.dirname(host) : host, { recursive: true });
  if (isFile) fs.writeFileSync(host, '');
}

/** runc keeps its state under here: on tmpfs for root, the user's runtime directory otherwise. */
function stateDir(): string {
  if (isRealRoot()) return '/run/hod-runc';
  // /tmp is shared: one directory per user
  return process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'hod-runc') : path.join(os.tmpdir(), `hod-runc-${outerUid()}`);
}
