import { checkStore } from '../builder/check.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: 'check [--repair]',
  desc: 'Check the store: every image\'s blobs present and matching their digests, nothing left over that nothing uses.',
  flags: {
    repair: { type: 'boolean', desc: 'drop the images whose blobs are missing or damaged, and remove what nothing uses' },
  },
  more: 'Prints one line per problem and exits 1 when there are any (0 after --repair fixed them).',
};

export async function run(ctx: Context): Promise<number> {
  if (ctx.args[0] !== 'check' || ctx.args.length > 1) throw new UsageError('usage: hod system check [--repair]');
  const repair = bool(ctx.flags, 'repair');
  const report = checkStore(openStore(ctx), { repair });
  for (const p of report.problems) ctx.out(p);
  if (report.problems.length === 0) {
    ctx.err('the store is consistent');
    return 0;
  }
  if (repair) {
    ctx.err(`repaired: ${report.damaged.length} damaged image(s) dropped, ${report.orphanBlobs} blob(s) and ${report.orphanLayers} layer directory(ies) removed`);
    return 0;
  }
  ctx.err(`${report.problems.length} problem(s); hod system check --repair fixes what it can`);
  return 1;
}
