import { HodError, UsageError, exitCodeOf } from '../errors.js';
import type { Context } from './context.js';
import { GLOBAL_FLAGS, parseFlags, renderHelp, type VerbSpec } from './flags.js';

interface VerbModule {
  spec: VerbSpec;
  run(ctx: Context): Promise<number | void>;
}

/** Verbs load lazily: a metadata verb must not pay for modules it does not use. */
const VERBS: Record<string, [string, () => Promise<VerbModule>]> = {
  from: ['Create a working container from an image or scratch', () => import('./from.js')],
  containers: ['List working containers', () => import('./containers.js')],
  rm: ['Remove working containers', () => import('./rm.js')],
  rename: ['Rename a working container', () => import('./rename.js')],
  mount: ['Mount a working container\'s root filesystem, or list mounts', () => import('./mount.js')],
  umount: ['Unmount a working container\'s root filesystem', () => import('./umount.js')],
  config: ['Change the image configuration of a working container', () => import('./config.js')],
  copy: ['Copy files into a working container', () => import('./copy.js')],
  add: ['Copy files, archives (unpacked) and URLs into a working container', () => import('./add.js')],
  commit: ['Create an image from a working container', () => import('./commit.js')],
  images: ['List images in the store', () => import('./images.js')],
  inspect: ['Show the configuration of a container or image', () => import('./inspect.js')],
  tag: ['Add names to an image', () => import('./tag.js')],
  rmi: ['Remove images', () => import('./rmi.js')],
  info: ['Show store paths, driver and runtime', () => import('./info.js')],
  version: ['Show hod\'s version', () => import('./version.js')],
};
const ALIASES: Record<string, string> = { ps: 'containers', list: 'containers', ls: 'containers', unmount: 'umount', 'list-images': 'images' };

function topHelp(): string {
  const w = Math.max(...Object.keys(VERBS).map((v) => v.length)) + 2;
  const verbs = Object.entries(VERBS).map(([v, [d]]) => `  ${v.padEnd(w)}${d}`);
  const globals = Object.entries(GLOBAL_FLAGS).map(([n, f]) => `  --${n}${f.type === 'boolean' ? '' : ` ${f.arg}`}  ${f.desc}`);
  return ['hod: build OCI container images, daemonless, from the shell', '', 'Usage: hod [global flags] VERB [flags] [args]', '', 'Verbs:', ...verbs, '', 'Global flags:', ...globals, '', 'Run "hod VERB --help" for a verb\'s flags.', ''].join('\n');
}

/** Global flags may come before the verb; find the verb without knowing its own flags. */
function splitVerb(argv: string[]): { verb?: string; rest: string[] } {
  const before: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) return { verb: a, rest: [...before, ...argv.slice(i + 1)] };
    before.push(a);
    const name = a.replace(/^--?/, '');
    if (!a.includes('=') && GLOBAL_FLAGS[name] && GLOBAL_FLAGS[name].type !== 'boolean' && i + 1 < argv.length) before.push(argv[++i]);
  }
  return { rest: before };
}

/** Run hod with these arguments; returns the exit code. Callable from tests. */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  const out = io.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = io.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const { verb: given, rest } = splitVerb(argv);
  const debug = argv.includes('--log-level=debug') || argv.join(' ').includes('--log-level debug');
  try {
    if (!given) {
      if (rest.includes('--version') || rest.includes('-v')) return main(['version'], io);
      out(topHelp());
      return rest.includes('--help') || rest.includes('-h') ? 0 : 125;
    }
    const verb = ALIASES[given] ?? given;
    if (!VERBS[verb]) throw new UsageError(`unknown verb "${given}": run "hod --help" for the list`);
    const mod = await VERBS[verb][1]();
    if (rest.includes('--help') || rest.includes('-h')) {
      out(renderHelp(verb, mod.spec));
      return 0;
    }
    const parsed = parseFlags(rest, mod.spec);
    return (await mod.run({ ...parsed, out, err })) ?? 0;
  } catch (e) {
    if (debug && e instanceof Error) err(e.stack ?? String(e));
    if (e instanceof HodError) err(`Error: ${e.message}`);
    else if (e instanceof Error) err(`Error: ${(e as NodeJS.ErrnoException).code ? `${e.message}` : e.message}`);
    else err(`Error: ${String(e)}`);
    return exitCodeOf(e);
  }
}
