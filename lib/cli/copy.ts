import { add } from '../builder/add.js';
import { openStore, type Context } from './context.js';
import { bool, list, need, str, type Flag, type VerbSpec } from './flags.js';

/** The flags `copy` and `add` share (buildah's names). */
export const COPY_FLAGS: Record<string, Flag> = {
  chown: { type: 'string', arg: 'user[:group]', desc: 'owner of the copied content: names from the container\'s /etc/passwd and /etc/group, or numbers (default 0:0)' },
  chmod: { type: 'string', arg: 'mode', desc: 'octal permissions for the copied files and directories (default: as the source)' },
  from: { type: 'string', arg: 'container|image', desc: 'copy from this working container\'s or local image\'s root filesystem (keeps ownership unless --chown)' },
  contextdir: { type: 'string', arg: 'dir', desc: 'read sources inside this directory (like a chroot); its .containerignore/.dockerignore applies' },
  ignorefile: { type: 'string', arg: 'file', desc: 'a .dockerignore-style file of exclusions (needs --contextdir)' },
  exclude: { type: 'list', arg: 'pattern', desc: 'exclude paths matching this pattern (ignore-file syntax)' },
  quiet: { type: 'boolean', alias: 'q', desc: 'do not print the digest of the copied content' },
};

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER SRC [SRC...] [DEST]',
  desc: 'Copy files, directories (their contents) and URLs into a working container; prints a digest of what was copied.',
  flags: COPY_FLAGS,
  more: [
    'DEST is a path in the container (symlinks resolve inside it), relative ones from its working directory (the',
    'default). A directory source copies its contents. Several sources need DEST to end in "/" or be a directory;',
    'a single file is written as DEST unless DEST is a directory. Archives are copied as they are ("hod add" unpacks them).',
  ].join('\n'),
};

/** `copy` and `add`: parse, call add(), print the content digest as buildah does. */
export async function runCopy(ctx: Context, extract: boolean): Promise<void> {
  need(ctx.args, 2, 'a container and at least one source');
  const [container, ...rest] = ctx.args;
  const dest = rest.length > 1 ? rest.pop()! : '';
  const quiet = bool(ctx.flags, 'quiet');
  const res = await add(openStore(ctx), container, rest, dest, {
    chown: str(ctx.flags, 'chown'),
    chmod: str(ctx.flags, 'chmod'),
    from: str(ctx.flags, 'from'),
    contextDir: str(ctx.flags, 'contextdir'),
    ignoreFile: str(ctx.flags, 'ignorefile'),
    exclude: list(ctx.flags, 'exclude'),
    extract,
    quiet,
  });
  if (!quiet && res.digest) ctx.out(res.digest);
}

export async function run(ctx: Context): Promise<void> {
  await runCopy(ctx, false);
}
