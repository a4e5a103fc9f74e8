import { UsageError } from '../errors.js';
import { logout } from '../registry/login.js';
import { type Context } from './context.js';
import { bool, str, type VerbSpec } from './flags.js';
import { REGISTRY_FLAGS } from './registry-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] REGISTRY',
  desc: 'Remove the saved credentials of a registry (or all with --all).',
  flags: {
    authfile: REGISTRY_FLAGS.authfile,
    all: { type: 'boolean', alias: 'a', desc: 'remove every saved login' },
  },
};

export async function run(ctx: Context): Promise<void> {
  const all = bool(ctx.flags, 'all');
  if (!all && !ctx.args.length) throw new UsageError('a registry must be specified (or --all)');
  logout(all ? undefined : ctx.args[0], { authfile: str(ctx.flags, 'authfile') });
  ctx.out(all ? 'Removed login credentials for all registries' : `Removed login credentials for ${ctx.args[0]}`);
}
