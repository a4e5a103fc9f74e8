import fs from 'node:fs';
import { from, type PullPolicy } from '../builder/from.js';
import { UsageError } from '../errors.js';
import { parsePlatform } from '../pull/platform.js';
import { clientOptions, notes, progressLines, REGISTRY_FLAGS } from './registry-flags.js';
import { POLICY_FLAGS, policyOption } from './signing-flags.js';
import { openStore, type Context } from './context.js';
import { need, str, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE',
  desc: 'Create a working container from IMAGE, or from an empty root filesystem with "scratch"; prints its name.',
  flags: {
    name: { type: 'string', arg: 'name', desc: 'the container\'s name (default: <image>-working-container[-N])' },
    cidfile: { type: 'string', arg: 'file', desc: 'write the container id to this file' },
    format: { type: 'string', alias: 'f', arg: 'oci|docker', desc: 'image format the container commits to by default' },
    ...REGISTRY_FLAGS,
    ...POLICY_FLAGS,
    pull: { type: 'string', arg: 'missing|always|never|newer', desc: 'when to pull IMAGE first (default missing)' },
    platform: { type: 'string', arg: 'os/arch[/variant]', desc: 'the image to pick from a manifest list when pulling' },
  },
  more: 'IMAGE may be a registry reference, pulled when missing, or TRANSPORT:NAME (docker://, oci:, oci-archive:, docker-archive:, dir:).',
};

const POLICIES = ['missing', 'always', 'never', 'newer'];

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'an image name (or "scratch")');
  const format = str(ctx.flags, 'format');
  const pull = str(ctx.flags, 'pull') ?? 'missing';
  if (!POLICIES.includes(pull)) throw new UsageError(`--pull: "${pull}" is not one of ${POLICIES.join(', ')}`);
  const platform = str(ctx.flags, 'platform');
  const rec = await from(openStore(ctx), ctx.args[0], {
    name: str(ctx.flags, 'name'),
    format: format === 'docker' ? 'docker' : format === 'oci' ? 'oci' : undefined,
    pull: pull as PullPolicy,
    pullOptions: { ...clientOptions(ctx), ...policyOption(ctx), platform: platform ? parsePlatform(platform) : undefined, progress: progressLines(ctx), note: notes(ctx) },
  });
  const cidfile = str(ctx.flags, 'cidfile');
  if (cidfile) fs.writeFileSync(cidfile, rec.id);
  ctx.out(rec.name);
}
