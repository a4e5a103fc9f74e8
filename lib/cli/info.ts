import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { listRecords } from '../builder/records.js';
import { isRealRoot } from '../store/userns.js';
import { openStore, type Context } from './context.js';
import type { VerbSpec } from './flags.js';
import { renderTemplate } from './template.js';
import { str } from './flags.js';

export const spec: VerbSpec = {
  usage: '[flags]',
  desc: 'Show the store\'s paths, the storage driver and the host.',
  flags: { format: { type: 'string', arg: 'template', desc: 'Go template over the info' } },
};

function runtimeVersion(): string {
  try {
    return execFileSync('runc', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return 'runc not found';
  }
}

export async function run(ctx: Context): Promise<void> {
  const store = openStore(ctx);
  const info = {
    host: { Distribution: os.release(), MemTotal: os.totalmem(), CPUs: os.cpus().length, kernel: os.release(), os: process.platform, arch: process.arch, rootless: !isRealRoot(), OCIRuntime: runtimeVersion() },
    store: {
      GraphRoot: store.paths.root,
      GraphDriverName: store.driver,
      ImageLayout: store.paths.root,
      LayersDir: store.paths.layers,
      ContainerStore: { number: listRecords(store).length },
      ImageStore: { number: store.images.list().length },
    },
  };
  const format = str(ctx.flags, 'format');
  ctx.out(format ? renderTemplate(format, info) : JSON.stringify(info, null, 4));
}
