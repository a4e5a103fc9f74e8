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
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SystemError } from '../errors.js';
import { inUserNamespace } from '../store/userns.js';
import { pidAlive } from '../store/lock.js';

export const CNI_PATHS = ['/usr/lib/cni', '/opt/cni/bin', '/usr/libexec/cni'];
export const SUBNET = '10.89.0.0/24';
const STATE = '/run/hod-cni';

export interface PrivateNetwork {
  /** The namespace the runtime joins: it exists when this object is handed out. */
  netns: string;
  /**
   * Settles when the namespace is wired up (the runtime may start before: its hook waits for `readyFile`).
   * Rejects with the plugin's error, after writing "failed" there, so the hook stops the runtime.
   */
  configured: Promise<void>;
  /**
   * Undo it all, by a detached shell that outlives hod: the command's exit status is not held up for the
   * 30 ms the plugin's DEL and the namespace removal take.
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

/** One CNI plugin call: the config on stdin, the command in the environment, the result as JSON on stdout. */
function pluginEnv(dir: string, command: 'ADD' | 'DEL', id: string, netns: string): NodeJS.ProcessEnv {
  return { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: dir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
}

/**
 * The loopback up and the plugin's ADD, by one shell: one process to start instead of two (each start costs
 * the caller 2 ms). Resolves to the plugin's result.
 */
function addNetwork(dir: string, id: string, netns: string): Promise<string> {
  const script = 'ip -n "$CNI_CONTAINERID" link set lo up & printf %s "$HOD_CNI_CONFIG" | "$CNI_PATH/bridge"; rc=$?; wait; exit $rc';
  return new Promise((resolve, reject) => {
    const sh = spawn('sh', ['-c', script], { env: { ...pluginEnv(dir, 'ADD', id, netns), HOD_CNI_CONFIG: cniConfig() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    sh.stdout.on('data', (b: Buffer) => (out += b.toString()));
    sh.stderr.on('data', (b: Buffer) => (err += b.toString()));
    sh.once('error', reject);
    sh.once('close', (code) => {
      if (code === 0) return resolve(out);
      reject(new SystemError(`CNI bridge plugin ADD failed: ${pluginError(out, err)}`));
    });
  });
}

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
  // the pid in the name lets a later run find the namespaces of a hod that was killed (reapStale)
  const id = `hod-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  return { id, netns: inUserNamespace() ? path.join(dir, 'netns') : `/run/netns/${id}` };
}

export interface NetworkReady {
  /** Written "ok" (or "failed") when the namespace is wired up; the runtime's hook waits for it. */
  readyFile: string;
  /** Told the command's address before readyFile is written (for /etc/hosts). */
  onAddress: (address: string) => void;
}

/**
 * A private network for one command. Resolves as soon as its namespace exists, so the runtime starts while
 * the plugin wires it up (the 15 ms of CNI overlap runc's own start); see `configured`.
 */
export async function setupPrivateNetwork(id: string, netnsPath: string, ready: NetworkReady): Promise<PrivateNetwork> {
  if (inUserNamespace()) return setupSlirp(netnsPath, ready);
  const dir = pluginDir();
  fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });
  ensureMasquerade();
  reapStale(dir);
  const netns = `/run/netns/${id}`;
  await new Promise<void>((resolve, reject) => {
    const ip = spawn('ip', ['netns', 'add', id], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    ip.stderr.on('data', (b: Buffer) => (err += b.toString()));
    ip.once('error', (e) => reject(new SystemError(`cannot make a network namespace (ip netns add): ${e.message}`)));
    ip.once('close', (code) => (code === 0 ? resolve() : reject(new SystemError(`cannot make a network namespace (ip netns add): ${err.trim()}`))));
  });
  const configured = addNetwork(dir, id, netns).then((out) => {
    const result = JSON.parse(out) as { ips?: { address: string }[] };
    ready.onAddress(result.ips?.[0]?.address.split('/')[0] ?? '');
    fs.writeFileSync(ready.readyFile, 'ok');
  }, (err: unknown) => {
    fs.writeFileSync(ready.readyFile, 'failed');
    throw err;
  });
  configured.catch(() => undefined);
  return {
    netns,
    configured,
    teardownInBackground: () => teardownDetached(dir, id, netns),
  };
}

function teardownDetached(dir: string, id: string, netns: string): void {
  const script = 'printf %s "$HOD_CNI_CONFIG" | "$CNI_PATH/bridge" >/dev/null 2>&1; ip netns del "$CNI_CONTAINERID" >/dev/null 2>&1';
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore', env: { ...pluginEnv(dir, 'DEL', id, netns), HOD_CNI_CONFIG: cniConfig() } }).unref();
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
async function setupSlirp(netns: string, ready: NetworkReady): Promise<PrivateNetwork> {
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
  ready.onAddress('10.0.2.100');
  fs.writeFileSync(ready.readyFile, 'ok');
  return {
    netns,
    configured: Promise.resolve(),
    // the namespace file lives in the run's bundle, which goes right after: no waiting to do here
    teardownInBackground: () => {
      slirp.kill('SIGTERM');
      drop();
    },
  };
}
