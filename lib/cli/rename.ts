import { rename } from '../builder/containers.js';
import { openStore, type Context } from './context.js';
import { need, type VerbSpec } from './flags.js';

export const spec: VerbSpec = { usage: 'CONTAINER NEW-NAME', desc: 'Rename a working container.', flags: {} };

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 2, 'a container and a new name');
  rename(openStore(ctx), ctx.args[0], ctx.args[1]);
}
