/**
 * `--network private`: the command's own network namespace with outbound access, made with the CNI plugins
 * Debian ships (containernetworking-plugins) as buildah does: a named namespace (`ip netns add`), then the
 * bridge plugin with host-local addresses puts a veth pair between it and the `hod0` bridge, with a default
 * route through the bridge. What leaves the subnet is masqueraded by one rule for the whole subnet, added once
 * per boot, rather than by the plugin's per-container chains (which cost 60 ms of iptables calls a run).
 * Everything per-run is torn down after the command: the plugin's DEL, then the namespace.
 *
 * Rootless (in `hod unshare`'s user namespace) there is no bridge to make: the namespace is one this process
 * may make (bound on a file in its own mount namespace) and slirp4netns gives it a tap device with
 * outbound access in user space (10.0.2.100, gateway 10.0.2.2), as buildah does rootless.
 */
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SystemError } from '../errors.js';
import { inUserNamespace } from '../store/userns.js';
import { pidAlive } from '../store/lock.js';

export const CNI_PATHS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni'];
export const SUBNET = '10.89.0.0/24';
const STATE = '/run/hod-cni';

export interface PrivateNetwork {
  /** Settles when the namespace exists: the runtime may start, its hook waiting for `address`. */
  created: Promise<void>;
  /** The command's address once the namespace is wired up; rejects with the plugin's error. */
  address: Promise<string>;
  /**
   * Undo it all in the background: the command's exit status is not held up for the 30 ms the plugin's DEL
   * and the namespace removal take.
   */
  teardownInBackground: () => void;
}

function cniConfig(): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'hod',
    type: 'bridge',
    bridge: 'hod0',
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: SUBNET, gateway: '10.89.0.1' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: `${STATE}/ipam`,
    },
  });
}

function pluginDir(): string {
  const dir = CNI_PATHS.find((d) => fs.existsSync(`${d}/bridge`) && fs.existsSync(`${d}/host-local`));
  if (!dir) {
    throw new SystemError('--network private needs the CNI bridge and host-local plugins (Debian package containernetworking-plugins); install them, or use --network none or host');
  }
  return dir;
}

/** A CNI plugin's environment, but for CNI_COMMAND, which the scripts set per call. */
function pluginEnv(dir: string, id: string, netns: string): NodeJS.ProcessEnv {
  return { CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: dir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOD_CNI_CONFIG: cniConfig() };
}

const DEL = 'printf %s "$HOD_CNI_CONFIG" | CNI_COMMAND=DEL "$CNI_PATH/bridge" >/dev/null 2>&1; ip netns del "$CNI_CONTAINERID" >/dev/null 2>&1';

/**
 * A run's whole network life in one detached shell: the namespace, then "ns" on stdout; the loopback up and
 * the plugin's ADD, its status and result on stdout, which then closes; then, once its stdin closes (hod is
 * done with the command, or gone), the plugin's DEL and the namespace's removal. One process where there were
 * three, none of them started after the command (each start costs hod 1-3 ms of its only thread), and a hod
 * that is killed still has its network torn down.
 */
const LIFE = [
  'ip netns add "$CNI_CONTAINERID" || exit 1',
  'echo ns',
  'ip -n "$CNI_CONTAINERID" link set lo up & out=$(printf %s "$HOD_CNI_CONFIG" | CNI_COMMAND=ADD "$CNI_PATH/bridge"); rc=$?; wait',
  'printf "%s\\n%s" "$rc" "$out"',
  'exec >/dev/null 2>&1',
  'read -r _',
  DEL,
].join('\n');

/** A CNI error object's message and details, else what the plugin printed. */
function pluginError(out: string, err: string): string {
  try {
    const j = JSON.parse(out) as { msg?: string; details?: string };
    return [j.msg, j.details].filter(Boolean).join(': ');
  } catch {
    return err.trim() || out.trim();
  }
}

/** One MASQUERADE rule for everything from the subnet to elsewhere; /run (and the rules) go at reboot. */
function ensureMasquerade(): void {
  const marker = `${STATE}/masquerade`;
  if (fs.existsSync(marker)) return;
  const rule = ['POSTROUTING', '-s', SUBNET, '!', '-d', SUBNET, '-j', 'MASQUERADE', '-m', 'comment', '--comment', 'hod private network'];
  try {
    try {
      execFileSync('iptables', ['-w', '-t', 'nat', '-C', ...rule], { stdio: 'ignore' });
    } catch {
      execFileSync('iptables', ['-w', '-t', 'nat', '-A', ...rule], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
  } catch (err) {
    throw new SystemError(`cannot add the masquerading rule for ${SUBNET} (iptables): ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`);
  }
  fs.writeFileSync(marker, '');
}

/**
 * A name for a new namespace, and where it will be, so the runtime spec can name it before it is ready:
 * /run/netns for root, else a file in `dir` (the run's bundle, the user's own).
 */
export function newNetnsId(dir: string): { id: string; netns: string } {
  // the pid in the name lets a later run find the namespaces of a hod that was killed (reapStale), and makes
  // it unique among live ones with the random part; Math.random, as node:crypto costs 1-2 ms to load
  const id = `hod-${process.pid}-${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0')}`;
  return { id, netns: inUserNamespace() ? path.join(dir, 'netns') : `/run/netns/${id}` };
}

/**
 * A private network for one command, started at once: `created` settles as soon as its namespace exists, so
 * the runtime starts while the plugin wires it up (the 15 ms of CNI overlap runc's own start).
 */
export function startPrivateNetwork(id: string, netnsPath: string): PrivateNetwork {
  if (inUserNamespace()) return startSlirp(netnsPath);
  const dir = pluginDir();
  fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
  ensureMasquerade();
  reapStale(dir);
  const sh = spawn('sh', ['-c', LIFE], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: pluginEnv(dir, id, netnsPath) });
  // neither the shell nor its stdin keeps hod alive; its stdout and stderr end once the ADD is done
  sh.unref();
  sh.stdin.on('error', () => undefined);
  let out = '';
  let err = '';
  sh.stdout.on('data', (b: Buffer) => (out += b.toString()));
  sh.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const ended = Promise.all([new Promise((r) => sh.stdout.once('end', r)), new Promise((r) => sh.stderr.once('end', r))]);
  const created = new Promise<void>((resolve, reject) => {
    const check = () => out.startsWith('ns\n') && resolve();
    sh.stdout.on('data', check);
    sh.once('error', (e) => reject(new SystemError(`cannot start sh for the private network: ${e.message}`)));
    void ended.then(() => reject(new SystemError(`cannot make a network namespace (ip netns add): ${err.trim()}`)));
  });
  const address = created.then(() => ended).then(() => {
    const [, rc, ...result] = out.split('\n');
    const text = result.join('\n');
    if (rc !== '0') throw new SystemError(`CNI bridge plugin ADD failed: ${pluginError(text, err)}`);
    const parsed = JSON.parse(text) as { ips?: { address: string }[] };
    return parsed.ips?.[0]?.address.split('/')[0] ?? '';
  });
  created.catch(() => undefined);
  address.catch(() => undefined);
  return { created, address, teardownInBackground: () => sh.stdin.destroy() };
}

/** Tear down a namespace no shell of ours looks after, by a detached one. */
function teardownDetached(dir: string, id: string, netns: string): void {
  spawn('sh', ['-c', DEL], { detached: true, stdio: 'ignore', env: pluginEnv(dir, id, netns) }).unref();
}

/**
 * The namespaces (and addresses) of a hod that was killed before it could tear them down, as a build pod
 * killed mid-RUN is: their names carry the pid, and a pid that is gone frees them.
 */
function reapStale(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^hod-(\d+)-[0-9a-f]+$/.exec(name);
    if (m && !pidAlive(Number(m[1]))) teardownDetached(dir, name, `/run/netns/${name}`);
  }
}

/** Rootless: a namespace bound on a file, and slirp4netns serving it until teardown. */
function startSlirp(netns: string): PrivateNetwork {
  let stop: (() => void) | undefined;
  const created = setupSlirp(netns).then((s) => {
    stop = s;
  });
  created.catch(() => undefined);
  // the namespace file lives in the run's bundle, which goes right after: no waiting to do in the teardown
  return { created, address: created.then(() => '10.0.2.100'), teardownInBackground: () => stop?.() };
}

/** The namespace served by slirp4netns; resolves to what stops it and drops the namespace. */
async function setupSlirp(netns: string): Promise<() => void> {
  fs.mkdirSync(path.dirname(netns), { recursive: true, mode: 0o700 });
  fs.writeFileSync(netns, '');
  const drop = () => {
    try {
      execFileSync('umount', [netns], { stdio: 'ignore' });
    } catch {
      // not bound
    }
    fs.rmSync(netns, { force: true });
  };
  try {
    execFileSync('unshare', [`--net=${netns}`, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    drop();
    throw new SystemError(`cannot make a network namespace: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`);
  }
  const slirp = spawn('slirp4netns', ['--configure', '--mtu=65520', '--disable-host-loopback', '--netns-type=path', '--ready-fd=3', netns, 'tap0'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let err = '';
  slirp.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      slirp.once('error', (e) => reject(new SystemError(`--network private needs slirp4netns when rootless (Debian package slirp4netns): ${e.message}; or use --network none or host`)));
      slirp.once('exit', (code) => {
        const tun = /\/dev\/net\/tun.*Permission denied/.test(err) ? ' (/dev/net/tun must be usable by you: mode 0666, as Debian sets it)' : '';
        reject(new SystemError(`slirp4netns failed (exit ${code}): ${err.trim().split('\n')[0]}${tun}; or use --network none or host`));
      });
      (slirp.stdio[3] as NodeJS.ReadableStream).once('data', () => resolve());
    });
  } catch (e) {
    slirp.kill('SIGKILL');
    drop();
    throw e;
  }
  slirp.removeAllListeners('exit');
  return () => {
    slirp.kill('SIGTERM');
    drop();
  };
}
