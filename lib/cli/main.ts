import { UsageError } from '../errors.js';
import { reportError, runVerb, splitVerb, stdoutLine, topHelp, type Io, type VerbModule } from './dispatch.js';
import { ALIASES, VERBS, type Verb } from './verbs.js';

/**
 * The ESM entry: verbs load lazily, so a metadata verb does not pay for modules it does not use. bin/hod
 * normally skips this and loads the verb's one-file bundle (dist/cli/<verb>.cjs, see scripts/bundle.mjs).
 */
const LOADERS: Record<Verb, () => Promise<VerbModule>> = {
  from: () => import('./from.js'),
  containers: () => import('./containers.js'),
  rm: () => import('./rm.js'),
  rename: () => import('./rename.js'),
  mount: () => import('./mount.js'),
  umount: () => import('./umount.js'),
  config: () => import('./config.js'),
  copy: () => import('./copy.js'),
  add: () => import('./add.js'),
  commit: () => import('./commit.js'),
  bud: () => import('./bud.js'),
  unshare: () => import('./unshare.js'),
  system: () => import('./system.js'),
  images: () => import('./images.js'),
  pull: () => import('./pull.js'),
  push: () => import('./push.js'),
  manifest: () => import('./manifest.js'),
  run: () => import('./run.js'),
  login: () => import('./login.js'),
  logout: () => import('./logout.js'),
  inspect: () => import('./inspect.js'),
  tag: () => import('./tag.js'),
  rmi: () => import('./rmi.js'),
  info: () => import('./info.js'),
  version: () => import('./version.js'),
};

/** Run hod with these arguments; returns the exit code. Callable from tests. */
export async function main(argv: string[], io: Io = {}): Promise<number> {
  const { verb: given, rest } = splitVerb(argv);
  if (!given) {
    if (rest.includes('--version') || rest.includes('-v')) return main(['version'], io);
    (io.out ?? stdoutLine)(topHelp());
    return rest.includes('--help') || rest.includes('-h') ? 0 : 125;
  }
  const verb = ALIASES[given] ?? given;
  if (!Object.hasOwn(VERBS, verb)) {
    const err = io.err ?? ((s: string) => process.stderr.write(s + '\n'));
    return reportError(new UsageError(`unknown verb "${given}": run "hod --help" for the list`), err, false);
  }
  return runVerb(verb, LOADERS[verb as Verb], argv, io);
}
