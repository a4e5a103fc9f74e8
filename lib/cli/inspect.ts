import { inspect } from '../builder/inspect.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { need, str, type VerbSpec } from './flags.js';
import { renderTemplate } from './template.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER|IMAGE',
  desc: 'Show a working container\'s or an image\'s configuration as JSON.',
  flags: {
    type: { type: 'string', alias: 't', arg: 'container|image', desc: 'what to look for (default: a container, then an image)' },
    format: { type: 'string', alias: 'f', arg: 'template', desc: 'Go template, e.g. \'{{.OCIv1.config.Env}}\' or \'{{.FromImageID}}\'' },
  },
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'a container or image name');
  const type = str(ctx.flags, 'type');
  if (type !== undefined && type !== 'container' && type !== 'image') throw new UsageError(`--type: "${type}" is not container or image`);
  const data = inspect(openStore(ctx), ctx.args[0], type);
  const format = str(ctx.flags, 'format');
  ctx.out(format ? renderTemplate(format, data) : JSON.stringify(data, null, 4));
}
