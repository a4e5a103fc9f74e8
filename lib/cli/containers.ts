import { listRecords } from '../builder/records.js';
import { openStore, type Context } from './context.js';
import { bool, str, type VerbSpec } from './flags.js';
import { renderTemplate } from './template.js';
import { table } from './table.js';

export const spec: VerbSpec = {
  usage: '[flags]',
  desc: 'List working containers.',
  flags: {
    all: { type: 'boolean', alias: 'a', desc: 'also list containers hod did not create (hod has none: same list)' },
    json: { type: 'boolean', desc: 'as JSON' },
    quiet: { type: 'boolean', alias: 'q', desc: 'only container ids' },
    noheading: { type: 'boolean', alias: 'n', desc: 'no header line' },
    notruncate: { type: 'boolean', desc: 'full ids and names' },
    format: { type: 'string', arg: 'template', desc: 'Go template per container: {{.ContainerID}} {{.ContainerName}} {{.ImageID}} {{.ImageName}}' },
  },
};

export async function run(ctx: Context): Promise<void> {
  const full = bool(ctx.flags, 'notruncate');
  const rows = listRecords(openStore(ctx)).map((r) => ({
    ContainerID: r.id,
    Builder: true,
    ImageID: r.fromImageId,
    ImageName: r.fromImage || 'scratch',
    ContainerName: r.name,
  }));
  if (bool(ctx.flags, 'json')) {
    ctx.out(JSON.stringify(rows.map((r) => ({ id: r.ContainerID, builder: true, imageid: r.ImageID, imagename: r.ImageName, containername: r.ContainerName })), null, 4));
    return;
  }
  const id = (s: string) => (full ? s : s.slice(0, 12));
  if (bool(ctx.flags, 'quiet')) {
    for (const r of rows) ctx.out(id(r.ContainerID));
    return;
  }
  const format = str(ctx.flags, 'format');
  if (format) {
    for (const r of rows) ctx.out(renderTemplate(format, r));
    return;
  }
  const trunc = (s: string) => (full || s.length <= 32 ? s : s.slice(0, 29) + '...');
  const t = table(['CONTAINER ID', 'BUILDER', 'IMAGE ID', 'IMAGE NAME', 'CONTAINER NAME'], rows.map((r) => [id(r.ContainerID), '  *', id(r.ImageID), trunc(r.ImageName), r.ContainerName]), !bool(ctx.flags, 'noheading'));
  if (t) ctx.out(t);
}
