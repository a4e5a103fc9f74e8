import { tag } from '../builder/images.js';
import { openStore, type Context } from './context.js';
import { need, type VerbSpec } from './flags.js';

export const spec: VerbSpec = { usage: 'IMAGE NEW-NAME [NEW-NAME...]', desc: 'Add one or more names to an image.', flags: {} };

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 2, 'an image and at least one new name');
  tag(openStore(ctx), ctx.args[0], ctx.args.slice(1));
}
