import { unshare } from '../run/unshare.js';
import type { Context } from './context.js';
import type { VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[--] [COMMAND [ARG...]]',
  desc: 'Run a command (default $SHELL) in a user namespace where you are root, mapped from /etc/subuid and /etc/subgid, with a mount namespace of its own.',
  flags: {},
  more: [
    'For rootless builds: inside, `hod mount` gives a path the shell can change, and every verb works on',
    '~/.local/share/hod. from, umount, run, commit, bud, copy, add, rm, rmi and pull enter it by themselves',
    'when hod is not run as root; mount must run inside it, where the path it prints is mounted.',
    '',
    'Example:',
    '  hod unshare sh -c \'ctr=$(hod from busybox); mnt=$(hod mount $ctr); echo hi > $mnt/hi; hod commit $ctr hi\'',
  ].join('\n'),
  haltAtNonOption: true,
};

export async function run(ctx: Context): Promise<number> {
  const argv = [...ctx.args, ...ctx.rest];
  return unshare(argv.length ? argv : [process.env.SHELL || '/bin/sh']);
}
