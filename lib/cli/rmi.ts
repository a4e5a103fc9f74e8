import { rmi } from '../builder/images.js';
import { UsageError } from '../errors.js';
import { listRecords } from '../builder/records.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE [IMAGE...]',
  desc: 'Remove images. A name of an image that has others is only untagged. An image a container was made from is kept unless -f, which removes the container too.',
  flags: {
    force: { type: 'boolean', alias: 'f', desc: 'also remove containers using the image' },
    all: { type: 'boolean', alias: 'a', desc: 'remove every image' },
    prune: { type: 'boolean', alias: 'p', desc: 'remove every image without a name (bud\'s cache among them) that no container uses' },
  },
};

export async function run(ctx: Context): Promise<number> {
  const store = openStore(ctx);
  const prune = bool(ctx.flags, 'prune');
  const inUse = prune ? new Set(listRecords(store).map((r) => r.fromImageId)) : new Set<string>();
  const targets = bool(ctx.flags, 'all') ? store.images.list().map((i) => i.id)
    : prune ? store.images.list().filter((i) => i.names.length === 0 && !inUse.has(i.id)).map((i) => i.id) : ctx.args;
  if (!targets.length && !bool(ctx.flags, 'all') && !prune) throw new UsageError('image name or ID must be specified');
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
