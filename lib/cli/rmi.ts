import { rmi } from '../builder/images.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE [IMAGE...]',
  desc: 'Remove images. A name of an image that has others is only untagged. An image a container was made from is kept unless -f, which removes the container too.',
  flags: {
    force: { type: 'boolean', alias: 'f', desc: 'also remove containers using the image' },
    all: { type: 'boolean', alias: 'a', desc: 'remove every image' },
  },
};

export async function run(ctx: Context): Promise<number> {
  const store = openStore(ctx);
  const targets = bool(ctx.flags, 'all') ? store.images.list().map((i) => i.id) : ctx.args;
  if (!targets.length && !bool(ctx.flags, 'all')) throw new UsageError('image name or ID must be specified');
  let code = 0;
  for (const t of targets) {
    try {
      const r = await rmi(store, t, { force: bool(ctx.flags, 'force') });
      for (const n of r.untagged) ctx.out(`untagged: ${n}`);
      for (const id of r.removed) ctx.out(id);
    } catch (e) {
      ctx.err(`Error: ${(e as Error).message}`);
      code = 125;
    }
  }
  return code;
}
