import { listImages } from '../builder/images.js';
import { openStore, type Context } from './context.js';
import { bool, str, type VerbSpec } from './flags.js';
import { humanAge, humanSize } from './human.js';
import { table } from './table.js';
import { renderTemplate } from './template.js';

export const spec: VerbSpec = {
  usage: '[flags] [IMAGE]',
  desc: 'List images in the store, newest first.',
  flags: {
    all: { type: 'boolean', alias: 'a', desc: 'also the unnamed images of bud\'s steps (its cache)' },
    json: { type: 'boolean', desc: 'as JSON' },
    quiet: { type: 'boolean', alias: 'q', desc: 'only image ids' },
    digests: { type: 'boolean', desc: 'show manifest digests' },
    noheading: { type: 'boolean', alias: 'n', desc: 'no header line' },
    'no-trunc': { type: 'boolean', desc: 'full image ids' },
    format: { type: 'string', arg: 'template', desc: 'Go template per image: {{.ID}} {{.Name}} {{.Tag}} {{.Digest}} {{.Size}} {{.CreatedAt}}' },
  },
};

function splitName(name: string): [string, string] {
  const at = name.lastIndexOf('@');
  if (at > 0) return [name.slice(0, at), '<none>'];
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
}

export async function run(ctx: Context): Promise<void> {
  const store = openStore(ctx);
  let images = listImages(store, { all: bool(ctx.flags, 'all') || ctx.args[0] !== undefined });
  if (ctx.args[0]) {
    const want = store.images.get(ctx.args[0]).id;
    images = images.filter((i) => i.id === want);
  }
  const full = bool(ctx.flags, 'no-trunc');
  if (bool(ctx.flags, 'json')) {
    ctx.out(JSON.stringify(images.map((i) => ({ id: i.id, names: i.names, digest: i.digest, createdat: i.created, size: i.size, created: Math.floor(Date.parse(i.created) / 1000), readonly: false, history: i.config.history?.map((h) => h.created_by ?? '') ?? [] })), null, 4));
    return;
  }
  if (bool(ctx.flags, 'quiet')) {
    for (const i of images) ctx.out(full ? i.id : i.id.slice(0, 12));
    return;
  }
  const rows = images.flatMap((i) => (i.names.length ? i.names : ['<none>:<none>']).map((n) => {
    const [repo, tag] = n === '<none>:<none>' ? ['<none>', '<none>'] : splitName(n);
    return { ID: full ? i.id : i.id.slice(0, 12), Name: repo, Tag: tag, Digest: i.digest, Size: humanSize(i.size), CreatedAt: i.created, Created: humanAge(i.created) };
  }));
  const format = str(ctx.flags, 'format');
  if (format) {
    for (const r of rows) ctx.out(renderTemplate(format, r));
    return;
  }
  const digests = bool(ctx.flags, 'digests');
  const header = ['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  const t = table(header, rows.map((r) => [r.Name, r.Tag, ...(digests ? [r.Digest] : []), r.ID, r.Created, r.Size]), !bool(ctx.flags, 'noheading'));
  if (t) ctx.out(t);
}
