import { inspect } from '../builder/inspect.js';
import { UsageError } from '../errors.js';
import { openStore, type Context } from './context.js';
import { need, str, type VerbSpec } from './flags.js';
import { renderTemplate } from './template.js';
import { clientOptions, REGISTRY_FLAGS } from './registry-flags.js';
import { parseTransportName } from '../pull/transport-name.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER|IMAGE|TRANSPORT:IMAGE',
  desc: 'Show a working container\'s or an image\'s configuration as JSON. With a transport (docker://, oci:, ...), the image is read where it is, without pulling it, as skopeo inspect shows it.',
  flags: {
    ...REGISTRY_FLAGS,
    type: { type: 'string', alias: 't', arg: 'container|image|manifest', desc: 'what to look for (default: a container, then an image); manifest: the raw manifest of TRANSPORT:IMAGE' },
    format: { type: 'string', alias: 'f', arg: 'template', desc: 'Go template, e.g. \'{{.OCIv1.config.Env}}\' or \'{{.FromImageID}}\'' },
  },
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'a container or image name');
  const type = str(ctx.flags, 'type');
  if (type !== undefined && type !== 'container' && type !== 'image' && type !== 'manifest') throw new UsageError(`--type: "${type}" is not container, image or manifest`);
  const remote = parseTransportName(ctx.args[0]);
  if (type === 'manifest' && !remote) throw new UsageError('--type manifest needs TRANSPORT:IMAGE, e.g. docker://registry.example.com/app:1');
  const data = remote
    ? await (await import('../pull/inspect-remote.js')).inspectRemote(ctx.args[0], { ...clientOptions(ctx), raw: type === 'manifest' })
    : inspect(openStore(ctx), ctx.args[0], type as 'container' | 'image' | undefined);
  const format = str(ctx.flags, 'format');
  ctx.out(format ? renderTemplate(format, data) : JSON.stringify(data, null, 4));
}
