import fs from 'node:fs';
import type { Context } from './context.js';
import type { VerbSpec } from './flags.js';

export const spec: VerbSpec = { usage: '', desc: 'Show hod\'s version.', flags: { json: { type: 'boolean', desc: 'as JSON' } } };

/** hod's version, from package.json (next to dist/ in a checkout and in hod's own image). */
export function hodVersion(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function run(ctx: Context): Promise<void> {
  const v = { version: hodVersion(), nodeVersion: process.version, osArch: `${process.platform}/${process.arch}` };
  if (ctx.flags.json) ctx.out(JSON.stringify(v, null, 2));
  else ctx.out(`Version:      ${v.version}\nNode Version: ${v.nodeVersion}\nOS/Arch:      ${v.osArch}`);
}
