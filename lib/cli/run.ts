import { HodError } from '../errors.js';
import { run as runInContainer } from '../run/run.js';
import type { NetworkMode } from '../run/spec.js';
import { openStore, type Context } from './context.js';
import { bool, list, need, str, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER [--] COMMAND [ARG...]',
  desc: 'Run a command in a working container through an OCI runtime (runc), with the container\'s environment, user and working directory. The exit code is the command\'s.',
  flags: {
    user: { type: 'string', alias: 'u', arg: 'user[:group]', desc: 'user and group, by name (the container\'s /etc/passwd, /etc/group) or number' },
    workingdir: { type: 'string', arg: 'dir', desc: 'working directory (default the image\'s, else /); created when missing' },
    env: { type: 'list', alias: 'e', arg: 'K=V', desc: 'set an environment variable (K alone: take it from hod\'s environment)' },
    tty: { type: 'boolean', alias: 't', desc: 'give the command a terminal' },
    network: { type: 'string', alias: 'net', arg: 'private|none|host', desc: 'private (default): own namespace with an address on the hod0 bridge and outbound access (CNI); none: only lo; host: the host\'s' },
    volume: { type: 'list', alias: 'v', arg: 'src:dest[:ro]', desc: 'bind-mount a host path' },
    mount: { type: 'list', arg: 'type=bind|tmpfs,...', desc: 'attach a mount (type=tmpfs,destination=/scratch)' },
    hostname: { type: 'string', arg: 'name', desc: 'the container\'s hostname (default its short id)' },
    'add-host': { type: 'list', arg: 'name:ip', desc: 'add a line to the generated /etc/hosts' },
    dns: { type: 'list', arg: 'ip', desc: 'nameserver for the generated /etc/resolv.conf (default the host\'s)' },
    'cap-add': { type: 'list', arg: 'cap', desc: 'add a capability to the default set' },
    'cap-drop': { type: 'list', arg: 'cap', desc: 'drop a capability (all: every one)' },
    runtime: { type: 'string', arg: 'path', desc: 'the OCI runtime program (default runc)' },
    isolation: { type: 'string', arg: 'oci|chroot', desc: 'oci: through runc (default); chroot: namespaces and a chroot, no runtime ($HOD_ISOLATION)' },
    'security-opt': { type: 'list', arg: 'seccomp=unconfined|file', desc: 'seccomp profile (default /usr/share/containers/seccomp.json, as buildah)' },
  },
  more: [
    '/etc/hosts, /etc/resolv.conf and /etc/hostname are generated and bound in: they never reach a commit, nor',
    'do the mount points the runtime needs. Exit codes: the command\'s; 125 when hod fails; 127 when the command',
    'is not in the container.',
    '',
    'Examples:',
    '  hod run "$ctr" -- sh -c \'echo $PATH; id\'',
    '  hod run --user 1000:1000 --workingdir /tmp --env A=1 "$ctr" -- sh -c \'id -u; pwd; echo $A\'',
    '  hod run -v "$PWD/src:/src:ro" --mount type=tmpfs,destination=/scratch "$ctr" -- ls /src /scratch',
  ].join('\n'),
  haltAtNonOption: true,
};

const NETWORKS: readonly string[] = ['private', 'none', 'host'];

export async function run(ctx: Context): Promise<number> {
  const command = [...ctx.args.slice(1), ...ctx.rest];
  need(ctx.args, 1, 'a container');
  const network = str(ctx.flags, 'network');
  const isolation = str(ctx.flags, 'isolation');
  if (isolation !== undefined && isolation !== 'oci' && isolation !== 'chroot') throw new HodError('EUSAGE', `--isolation: "${isolation}" is not oci or chroot`);
  if (network !== undefined && !NETWORKS.includes(network)) throw new HodError('EUSAGE', `--network: "${network}" is not private, none or host`);
  try {
    return await runInContainer(openStore(ctx), ctx.args[0], command, {
      user: str(ctx.flags, 'user'),
      workingDir: str(ctx.flags, 'workingdir'),
      env: list(ctx.flags, 'env'),
      tty: bool(ctx.flags, 'tty'),
      network: network as NetworkMode | undefined,
      volumes: list(ctx.flags, 'volume'),
      mounts: list(ctx.flags, 'mount'),
      hostname: str(ctx.flags, 'hostname'),
      addHosts: list(ctx.flags, 'add-host'),
      dns: list(ctx.flags, 'dns'),
      capAdd: list(ctx.flags, 'cap-add'),
      capDrop: list(ctx.flags, 'cap-drop'),
      runtime: str(ctx.flags, 'runtime'),
      securityOpts: list(ctx.flags, 'security-opt'),
      isolation: isolation as 'oci' | 'chroot' | undefined,
    });
  } catch (e) {
    // a command that is not there exits 127, as a shell's would
    if (e instanceof HodError && e.code === 'ENOCMD') {
      ctx.err(`Error: ${e.message}`);
      return 127;
    }
    throw e;
  }
}
