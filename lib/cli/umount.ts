import { listMounted, unmount } from '../builder/containers.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER [CONTAINER...]',
  desc: 'Unmount working containers\' root filesystems; prints each container\'s id.',
  flags: { all: { type: 'boolean', alias: 'a', desc: 'unmount every mounted container' } },
};

export async function run(ctx: Context): Promise<void> {
  const store = openStore(ctx);
  const names = bool(ctx.flags, 'all') ? (await listMounted(store)).map((m) => m.container.id) : ctx.args;
  if (!names.length && !bool(ctx.flags, 'all')) throw new UsageError('at least one container name or ID must be specified');
  for (const name of names) ctx.out((await unmount(store, name)).id);
}
