/**
 * `--isolation chroot`: the command without an OCI runtime, for hosts and pods where runc cannot work. It
 * runs in new mount, pid and uts namespaces (and network, unless host) made by util-linux `unshare`, with
 * /proc, a small /dev (null, zero, full, random, urandom, tty, a tmpfs /dev/shm), /sys read-only and the
 * run's own mounts set up inside that mount namespace, so none of them is seen outside or outlives the
 * command; then `unshare --root --wd --setuid --setgid` enters the root filesystem as the user. No seccomp
 * profile and no capability bounding: this is the weaker isolation buildah's chroot mode also is.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { SystemError } from '../errors.js';
import type { Mount, NetworkMode } from './spec.js';
import type { ResolvedUser } from './user.js';

export interface ChrootInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  hostname: string;
  network: NetworkMode;
  mounts: Mount[];
}

const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Shell-quote one word. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script run as root in the new namespaces: mounts, hostname, then the command. */
function setupScript(input: ChrootInput): string {
  const r = q(input.rootfs);
  const lines = [
    'set -e',
    // a fresh proc is refused where /proc has paths masked by mounts (inside a container, a pod): the
    // outer one, bound, still works there
    `mount -t proc proc ${r}/proc 2>/dev/null || mount --rbind /proc ${r}/proc`,
    `mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs ${r}/dev`,
    ...DEVICES.map((d) => `: > ${r}/dev/${d} && mount --bind /dev/${d} ${r}/dev/${d}`),
    `mkdir -p ${r}/dev/shm && mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 shm ${r}/dev/shm`,
    `ln -s /proc/self/fd ${r}/dev/fd && ln -s /proc/self/fd/0 ${r}/dev/stdin && ln -s /proc/self/fd/1 ${r}/dev/stdout && ln -s /proc/self/fd/2 ${r}/dev/stderr`,
    input.network === 'host' ? `mount --rbind -o ro /sys ${r}/sys` : `{ mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${r}/sys 2>/dev/null || mount --rbind /sys ${r}/sys; }`,
  ];
  for (const m of input.mounts) {
    const dest = `${r}${q(m.destination)}`;
    if (m.type === 'tmpfs') lines.push(`mount -t tmpfs -o ${q((m.options ?? []).join(','))} tmpfs ${dest}`);
    else {
      lines.push(`mount --rbind ${q(m.source ?? '')} ${dest}`);
      if (m.options?.includes('ro')) lines.push(`mount -o remount,bind,ro ${dest}`);
    }
  }
  // a pod's seccomp profile refuses sethostname without CAP_SYS_ADMIN: the command then keeps the pod's name
  lines.push(`hostname ${q(input.hostname)} 2>/dev/null || true`);
  if (input.network !== 'host') lines.push('ip link set lo up 2>/dev/null || busybox ip link set lo up');
  const env = input.env.map(q).join(' ');
  const u = input.user;
  lines.push(`exec env -i ${env} unshare --root=${r} --wd=${q(input.cwd)} --setgid=${u.gid} --setuid=${u.uid} -- ${input.args.map(q).join(' ')}`);
  return lines.join('\n');
}

export function runChroot(input: ChrootInput, stdio: StdioOptions = 'inherit'): Promise<number> {
  const ns = ['--mount', '--pid', '--fork', '--uts', '--propagation', 'private', '--kill-child'];
  if (input.network !== 'host') ns.push('--net');
  const child = spawn('unshare', [...ns, '--', 'sh', '-c', setupScript(input)], { stdio });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  for (const s of signals) process.on(s, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new SystemError(`cannot start unshare (util-linux) for chroot isolation: ${err.message}`)));
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143)));
  }).finally(() => {
    for (const s of signals) process.off(s, forward);
  });
}
