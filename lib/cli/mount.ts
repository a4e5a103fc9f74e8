import { listMounted, mount } from '../builder/containers.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] [CONTAINER...]',
  desc: 'Mount working containers\' root filesystems and print the paths; with no container, list what is mounted.',
  flags: { notruncate: { type: 'boolean', desc: 'show full container ids when listing' } },
  more: 'The mount stays after hod exits; "hod umount" undoes it. Commit works mounted or not.',
};

export async function run(ctx: Context): Promise<void> {
  const store = openStore(ctx);
  if (!ctx.args.length) {
    const full = bool(ctx.flags, 'notruncate');
    for (const m of await listMounted(store)) ctx.out(`${full ? m.container.id : m.container.id.slice(0, 12)} ${m.path}`);
    return;
  }
  for (const name of ctx.args) {
    const m = await mount(store, name);
    ctx.out(ctx.args.length > 1 ? `${name} ${m.path}` : m.path);
  }
}
