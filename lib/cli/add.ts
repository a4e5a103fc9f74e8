import type { Context } from './context.js';
import type { VerbSpec } from './flags.js';
import { COPY_FLAGS, runCopy } from './copy.js';

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER SRC [SRC...] [DEST]',
  desc: 'Copy files, directories and URLs into a working container, unpacking local tar archives; prints a digest of what was added.',
  flags: COPY_FLAGS,
  more: [
    'Local tar archives (plain, gzip, bzip2, xz, zstd) are unpacked into DEST, a directory. URLs are downloaded,',
    'never unpacked: saved as DEST, or into DEST/ under the last part of the URL path, with the Last-Modified time.',
  ].join('\n'),
};

export async function run(ctx: Context): Promise<void> {
  await runCopy(ctx, true);
}
