/**
 * The OCI runtime spec (config.json) for one `run`: the process from the image config and the flags, the
 * container's root filesystem, the standard mounts, generated /etc files bound in, namespaces, the default
 * capabilities and the masked and read-only paths that buildah and podman use.
 */
import fs from 'node:fs';
import type { ResolvedUser } from './user.js';

export type NetworkMode = 'private' | 'none' | 'host';

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  rootfs: string;
  hostname: string;
  terminal: boolean;
  network: NetworkMode;
  /** For private networking: the prepared network namespace to join (network.ts), and the file that says it is wired up. */
  netns?: string;
  netReady?: string;
  /** Extra mounts (-v, --mount, the generated /etc files), after the standard ones. */
  mounts: Mount[];
  capAdd?: string[];
  capDrop?: string[];
  /** `linux.seccomp`, already for this process's capabilities (seccomp.ts); none: unconfined. */
  seccomp?: (caps: string[]) => Record<string, unknown>;
}

/** containers.conf's default_capabilities, which buildah run grants. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/fs/selinux', '/sys/dev/block',
];
const READONLY_PATHS = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

export function capabilities(add: string[] = [], drop: string[] = []): string[] {
  const dropAll = drop.some((d) => d.toLowerCase() === 'all');
  const base = dropAll ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.map(capName).includes(c));
  return [...new Set([...base, ...add.filter((a) => a.toLowerCase() !== 'all').map(capName)])];
}

/**
 * A new network namespace starts with its loopback down. runc runs createContainer hooks inside the
 * container's namespaces before it changes root, so the host's `ip` (iproute2, else busybox's) brings it up.
 */
export function loopbackUpHook(): { path: string; args: string[] } {
  for (const ip of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip']) if (fs.existsSync(ip)) return { path: ip, args: ['ip', 'link', 'set', 'lo', 'up'] };
  return { path: '/bin/busybox', args: ['busybox', 'ip', 'link', 'set', 'lo', 'up'] };
}

/**
 * Hold the command back until the network plugin is done (or stop it if the plugin failed); 10 s at most. The
 * shell's own `read`, not cat: the runtime waits for this hook, and one process fewer is 1-2 ms.
 */
export function networkReadyHook(readyFile: string): { path: string; args: string[]; timeout: number } {
  const script = 'while [ ! -s "$1" ]; do sleep 0.002; done; read -r s < "$1"; [ "$s" = ok ]';
  return { path: '/bin/sh', args: ['sh', '-c', script, 'sh', readyFile], timeout: 10 };
}

export function runtimeSpec(input: SpecInput): Record<string, unknown> {
  const caps = capabilities(input.capAdd, input.capDrop);
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network !== 'host') namespaces.push(input.netns ? { type: 'network', path: input.netns } : { type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    // a prepared namespace brings its loopback up itself; the command waits until it is wired up (network.ts)
    ...(input.network !== 'host' && !input.netns ? { hooks: { createContainer: [loopbackUpHook()] } } : {}),
    ...(input.netReady ? { hooks: { createRuntime: [networkReadyHook(input.netReady)] } } : {}),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      // a new network namespace may mount sysfs; the host's network namespace needs it bound instead
      input.network === 'host'
        ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
        : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      ...input.mounts,
    ],
    linux: {
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      ...(input.seccomp ? { seccomp: input.seccomp(caps) } : {}),
    },
  };
}
