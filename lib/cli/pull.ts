import { pull } from '../pull/pull.js';
import { parsePlatform } from '../pull/platform.js';
import { openStore, type Context } from './context.js';
import { int, need, str, type VerbSpec } from './flags.js';
import { clientOptions, notes, progressLines, REGISTRY_FLAGS } from './registry-flags.js';
import { POLICY_FLAGS, policyOption } from './signing-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE',
  desc: 'Pull an image into the store and print its id. IMAGE is a registry reference or TRANSPORT:NAME (docker://, oci:, oci-archive:, docker-archive:, dir:). A short name (no registry host) resolves through registries.conf: its [aliases], else each unqualified-search registry in turn; mirrors are tried first, blocked registries refused.',
  flags: {
    ...REGISTRY_FLAGS,
    ...POLICY_FLAGS,
    platform: { type: 'string', arg: 'os/arch[/variant]', desc: 'the image to pick from a manifest list (default the host\'s)' },
    arch: { type: 'string', arg: 'arch', desc: 'architecture to pick from a manifest list' },
    os: { type: 'string', arg: 'os', desc: 'operating system to pick from a manifest list' },
    variant: { type: 'string', arg: 'variant', desc: 'architecture variant to pick from a manifest list' },
    jobs: { type: 'string', arg: 'n', desc: 'blobs downloaded at once (default 3)' },
  },
  more: 'Examples:\n  hod pull --tls-verify=false 127.0.0.1:5000/team/base:3\n  hod pull oci:/srv/layouts/app:1',
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'an image name');
  const p = str(ctx.flags, 'platform');
  const platform = { ...(p ? parsePlatform(p) : {}) };
  for (const k of ['os', 'arch', 'variant'] as const) {
    const v = str(ctx.flags, k);
    if (v !== undefined) platform[k === 'arch' ? 'architecture' : k] = v;
  }
  const progress = progressLines(ctx);
  progress && ctx.err('Getting image source signatures');
  const res = await pull(openStore(ctx), ctx.args[0], { ...clientOptions(ctx), ...policyOption(ctx), platform, jobs: int(ctx.flags, 'jobs'), progress, note: notes(ctx) });
  progress && ctx.err('Writing manifest to image destination');
  ctx.out(res.id);
}
