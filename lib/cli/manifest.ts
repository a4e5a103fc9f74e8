import { addToList, annotateList, createList, removeFromList, removeLists, type AddOptions } from '../builder/manifest.js';
import { UsageError } from '../errors.js';
import type { Platform } from '../image/types.js';
import { inspectRemote } from '../pull/inspect-remote.js';
import { parseTransportName } from '../pull/transport-name.js';
import { pushList } from '../push/push-list.js';
import { getList } from '../store/lists.js';
import { openStore, type Context } from './context.js';
import { bool, int, list, need, str, type VerbSpec } from './flags.js';
import { clientOptions, progressLines, REGISTRY_FLAGS } from './registry-flags.js';
import { POLICY_FLAGS, policyOption } from './signing-flags.js';

export const spec: VerbSpec = {
  usage: 'create|add|remove|annotate|inspect|rm|push [flags] LIST ...',
  desc: 'Manifest lists (multi-platform images) in the store: create, add images to, and push with every image they name.',
  flags: {
    ...REGISTRY_FLAGS,
    ...POLICY_FLAGS,
    amend: { type: 'boolean', desc: 'create: add to the list the name already holds' },
    arch: { type: 'string', arg: 'arch', desc: 'add, annotate: the entry\'s architecture (default the image\'s)' },
    os: { type: 'string', arg: 'os', desc: 'add, annotate: the entry\'s operating system' },
    variant: { type: 'string', arg: 'variant', desc: 'add, annotate: the entry\'s architecture variant' },
    'os-version': { type: 'string', arg: 'version', desc: 'add, annotate: the entry\'s os.version' },
    features: { type: 'list', arg: 'feature', desc: 'add, annotate: the entry\'s os.features' },
    annotation: { type: 'list', arg: 'k=v', desc: 'add, annotate: an annotation on the entry' },
    all: { type: 'boolean', desc: 'push: every image the list names, then the list (default: the list alone)' },
    format: { type: 'string', alias: 'f', arg: 'oci|docker', desc: 'push: the list\'s and the images\' format (a Docker list with --format docker)' },
    digestfile: { type: 'string', arg: 'file', desc: 'push: write the pushed list\'s digest to this file' },
    jobs: { type: 'string', arg: 'n', desc: 'push: blobs uploaded at once (default 3)' },
  },
  more: [
    'Subcommands:',
    '  create [--amend] LIST [IMAGE...]     a new list (LIST is a name like an image\'s); prints its id',
    '  add [--arch A --os O --variant V --annotation k=v] LIST IMAGE',
    '                                       IMAGE from the store, or TRANSPORT:NAME (pulled first)',
    '  remove LIST DIGEST                   drop the entry for that manifest digest',
    '  annotate [--arch ... --annotation k=v] LIST DIGEST',
    '  inspect LIST                         the list as JSON; also docker://... to read a remote one',
    '  rm LIST...                           remove lists (their images stay)',
    '  push [--all] [--format oci|docker] LIST DESTINATION',
    '',
    'Examples:',
    '  hod manifest create app:multi',
    '  hod manifest add app:multi app:amd64; hod manifest add --arch arm64 --variant v8 app:multi app:arm64',
    '  hod manifest push --all app:multi docker://registry.example.com/team/app:1',
  ].join('\n'),
};

function addOptions(ctx: Context): AddOptions {
  const platform: Partial<Platform> = {
    architecture: str(ctx.flags, 'arch'),
    os: str(ctx.flags, 'os'),
    variant: str(ctx.flags, 'variant'),
    'os.version': str(ctx.flags, 'os-version'),
  };
  const features = list(ctx.flags, 'features');
  if (features.length) platform['os.features'] = features;
  const annotations: Record<string, string> = {};
  for (const a of list(ctx.flags, 'annotation')) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`--annotation: "${a}" is not KEY=VALUE`);
    annotations[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return { platform, annotations, pullOptions: { ...clientOptions(ctx), ...policyOption(ctx), progress: progressLines(ctx) } };
}

export async function run(ctx: Context): Promise<void> {
  const [sub, ...args] = ctx.args;
  const store = () => openStore(ctx);
  switch (sub) {
    case 'create':
      need(args, 1, 'a list name');
      ctx.out((await createList(store(), args[0], args.slice(1), { amend: bool(ctx.flags, 'amend'), ...addOptions(ctx) })).id);
      return;
    case 'add':
      need(args, 2, 'a list and an image');
      ctx.out((await addToList(store(), args[0], args[1], addOptions(ctx))).id);
      return;
    case 'remove':
      need(args, 2, 'a list and a manifest digest');
      ctx.out(removeFromList(store(), args[0], args[1]).id);
      return;
    case 'annotate':
      need(args, 2, 'a list and a manifest digest');
      ctx.out(annotateList(store(), args[0], args[1], addOptions(ctx)).id);
      return;
    case 'inspect': {
      need(args, 1, 'a list');
      const index = parseTransportName(args[0]) ? await inspectRemote(args[0], { ...clientOptions(ctx), raw: true }) : getList(store(), args[0]).index;
      ctx.out(JSON.stringify(index, null, 4));
      return;
    }
    case 'rm':
      for (const id of removeLists(store(), args)) ctx.out(id);
      return;
    case 'push': {
      need(args, 2, 'a list and a destination');
      const format = str(ctx.flags, 'format');
      if (format !== undefined && format !== 'oci' && format !== 'docker') throw new UsageError(`--format: unrecognized format "${format}" (oci or docker)`);
      const progress = progressLines(ctx);
      await pushList(store(), args[0], args[1], {
        ...clientOptions(ctx),
        all: bool(ctx.flags, 'all'),
        format,
        jobs: int(ctx.flags, 'jobs'),
        digestfile: str(ctx.flags, 'digestfile'),
        progress,
      });
      return;
    }
    default:
      throw new UsageError(sub === undefined ? 'give a subcommand: create, add, remove, annotate, inspect, rm or push' : `unknown subcommand "${sub}" (create, add, remove, annotate, inspect, rm, push)`);
  }
}
