import { listMounted, mount } from '../builder/containers.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] [CONTAINER...]',
  desc: 'Mount working containers\' root filesystems and print the paths; with no container, list what is mounted.',
  flags: { notruncate: { type: 'boolean', desc: 'show full container ids when listing' } },
  more: 'The mount stays after hod exits; "hod umount" undoes it. Commit works mounted or not. Rootless, mount inside `hod unshare`.',
};

export async function run(ctx: Context): Promise<void> {
  const store = openStore(ctx);
  if (!ctx.args.length) {
    const full = bool(ctx.flags, 'notruncate');
    for (const m of await listMounted(store)) ctx.out(`${full ? m.container.id : m.container.id.slice(0, 12)} ${m.path}`);
    return;
  }
  // a mount made in a namespace of its own would be gone, and invisible, by the time the path is printed
  if (process.getuid?.() !== 0) throw new UsageError('a rootless mount only exists inside a user namespace: run it in `hod unshare`, e.g. hod unshare sh -c \'mnt=$(hod mount CTR); ...\'');
  for (const name of ctx.args) {
    const m = await mount(store, name);
    ctx.out(ctx.args.length > 1 ? `${name} ${m.path}` : m.path);
  }
}
