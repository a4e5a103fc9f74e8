import fs from 'node:fs';
import { commit } from '../commit/commit.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { bool, int, need, str, type VerbSpec } from './flags.js';
import { SIGN_FLAGS, signing } from './signing-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER [IMAGE]',
  desc: 'Create an image from a working container; prints the image id. A name without a registry is localhost/NAME.',
  flags: {
    format: { type: 'string', alias: 'f', arg: 'oci|docker', desc: 'image format (default oci)' },
    'disable-compression': { type: 'boolean', alias: 'D', desc: 'store the layer as a plain tar' },
    squash: { type: 'boolean', desc: 'one layer with the whole root filesystem' },
    rm: { type: 'boolean', desc: 'remove the container after committing' },
    timestamp: { type: 'string', arg: 'seconds', desc: 'set file times and created dates to this (reproducible images)' },
    'omit-history': { type: 'boolean', desc: 'write no history' },
    iidfile: { type: 'string', arg: 'file', desc: 'write the image id to this file' },
    quiet: { type: 'boolean', alias: 'q', desc: 'print nothing but the id' },
    'created-by': { type: 'string', arg: 'text', desc: 'the history entry\'s created_by' },
    'history-comment': { type: 'string', arg: 'text', desc: 'the history entry\'s comment' },
    ...SIGN_FLAGS,
  },
  more: 'SOURCE_DATE_EPOCH, when set, clamps file times and sets the created dates.\n\nWith --sign-by (GPG) or --sign-by-sigstore-private-key the image is signed as IMAGE (localhost/NAME unless it names a registry; --sign-identity to sign as another name); the signatures stay with the image and travel with `hod push` to docker:// and dir:.',
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'a container name or ID');
  const format = str(ctx.flags, 'format') ?? process.env.BUILDAH_FORMAT ?? 'oci';
  if (format !== 'oci' && format !== 'docker') throw new UsageError(`--format: unrecognized image type "${format}" (oci or docker)`);
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde !== undefined && !/^\d+$/.test(sde)) throw new UsageError(`SOURCE_DATE_EPOCH: "${sde}" is not a number of seconds`);
  const quiet = bool(ctx.flags, 'quiet');
  const res = await commit(openStore(ctx), ctx.args[0], ctx.args[1], {
    format,
    disableCompression: bool(ctx.flags, 'disable-compression'),
    squash: bool(ctx.flags, 'squash'),
    rm: bool(ctx.flags, 'rm'),
    timestamp: int(ctx.flags, 'timestamp'),
    sourceDateEpoch: sde === undefined ? undefined : Number(sde),
    omitHistory: bool(ctx.flags, 'omit-history'),
    createdBy: str(ctx.flags, 'created-by'),
    historyComment: str(ctx.flags, 'history-comment'),
    warn: (m) => ctx.err(`WARN ${m}`),
    ...signing(ctx),
  });
  if (!quiet && res.layer) ctx.err(`Wrote layer ${res.layer.digest} (${res.layer.size} bytes)`);
  const iidfile = str(ctx.flags, 'iidfile');
  if (iidfile) fs.writeFileSync(iidfile, `sha256:${res.id}`);
  ctx.out(res.id);
}
