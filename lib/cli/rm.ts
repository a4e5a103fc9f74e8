import { remove, removeAll } from '../builder/containers.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER [CONTAINER...]',
  desc: 'Remove working containers (unmounting them); prints each removed container\'s id.',
  flags: { all: { type: 'boolean', alias: 'a', desc: 'remove every working container' } },
};

export async function run(ctx: Context): Promise<number> {
  const store = openStore(ctx);
  if (bool(ctx.flags, 'all')) {
    if (ctx.args.length) throw new UsageError('when using the --all switch, you may not pass any containers names or IDs');
    for (const r of await removeAll(store)) ctx.out(r.id);
    return 0;
  }
  if (!ctx.args.length) throw new UsageError('container names or IDs must be specified');
  let code = 0;
  for (const name of ctx.args) {
    try {
      ctx.out((await remove(store, name)).id);
    } catch (e) {
      // keep going, as buildah does, and fail at the end
      ctx.err(`Error: ${(e as Error).message}`);
      code = 125;
    }
  }
  return code;
}
