import fs from 'node:fs';
import { from } from '../builder/from.js';
import { openStore, type Context } from './context.js';
import { need, str, type VerbSpec } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE',
  desc: 'Create a working container from IMAGE, or from an empty root filesystem with "scratch"; prints its name.',
  flags: {
    name: { type: 'string', arg: 'name', desc: 'the container\'s name (default: <image>-working-container[-N])' },
    cidfile: { type: 'string', arg: 'file', desc: 'write the container id to this file' },
    format: { type: 'string', alias: 'f', arg: 'oci|docker', desc: 'image format the container commits to by default' },
    quiet: { type: 'boolean', alias: 'q', desc: 'print no progress' },
  },
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'an image name (or "scratch")');
  const format = str(ctx.flags, 'format');
  const rec = await from(openStore(ctx), ctx.args[0], { name: str(ctx.flags, 'name'), format: format === 'docker' ? 'docker' : format === 'oci' ? 'oci' : undefined });
  const cidfile = str(ctx.flags, 'cidfile');
  if (cidfile) fs.writeFileSync(cidfile, rec.id);
  ctx.out(rec.name);
}
