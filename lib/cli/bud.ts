import fs from 'node:fs';
import type { PullPolicy } from '../builder/from.js';
import { openContext, readDockerfile } from '../dockerfile/context.js';
import { bud } from '../dockerfile/build.js';
import { UsageError } from '../errors.js';
import { parsePlatform } from '../pull/platform.js';
import type { NetworkMode } from '../run/spec.js';
import { openStore, type Context } from './context.js';
import { bool, int, list, str, type VerbSpec } from './flags.js';
import { clientOptions, notes, progressLines, REGISTRY_FLAGS } from './registry-flags.js';
import { POLICY_FLAGS, policyOption, SIGN_FLAGS, signing } from './signing-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] [CONTEXT]',
  desc: 'Build an image from a Dockerfile (Containerfile) and a context directory (default "."); prints the image id.',
  flags: {
    file: { type: 'list', alias: 'f', arg: 'path', desc: 'the Dockerfile (default CONTEXT/Containerfile, else CONTEXT/Dockerfile; - for stdin)' },
    tag: { type: 'list', alias: 't', arg: 'name', desc: 'name the image (a name without a registry is localhost/NAME)' },
    'build-arg': { type: 'list', arg: 'K=V', desc: 'a build argument (K alone: from hod\'s environment)' },
    'build-arg-file': { type: 'list', arg: 'file', desc: 'build arguments, K=V per line (# comments)' },
    target: { type: 'string', arg: 'stage', desc: 'build up to this stage' },
    layers: { type: 'boolean', desc: 'commit every step and use the build cache (default true; --layers=false: one commit)' },
    'no-cache': { type: 'boolean', desc: 'build every step, use no cached step' },
    pull: { type: 'boolean', desc: 'pull base images even when they are in the store' },
    'pull-always': { type: 'boolean', desc: 'the same as --pull' },
    'pull-never': { type: 'boolean', desc: 'never pull base images' },
    iidfile: { type: 'string', arg: 'file', desc: 'write the image id to this file' },
    format: { type: 'string', arg: 'oci|docker', desc: 'image format (default oci; $BUILDAH_FORMAT)' },
    squash: { type: 'boolean', desc: 'one layer with the whole root filesystem' },
    timestamp: { type: 'string', arg: 'seconds', desc: 'created dates and file times for reproducible images' },
    label: { type: 'list', arg: 'k=v', desc: 'a label on the image' },
    annotation: { type: 'list', arg: 'k=v', desc: 'an annotation on the image\'s manifest' },
    isolation: { type: 'string', arg: 'oci|chroot', desc: 'how RUN steps run (default oci: runc; $HOD_ISOLATION)' },
    network: { type: 'string', arg: 'private|none|host', desc: 'network for RUN steps' },
    runtime: { type: 'string', arg: 'path', desc: 'the OCI runtime program (default runc)' },
    ignorefile: { type: 'string', arg: 'file', desc: 'the ignore file (default CONTEXT/.containerignore, else .dockerignore)' },
    'build-context': { type: 'list', arg: 'name=dir|docker-image://ref', desc: 'what COPY --from=name reads: a directory or an image' },
    secret: { type: 'list', arg: 'id=ID,src=FILE', desc: 'a secret for RUN --mount=type=secret (never stored in the image)' },
    ssh: { type: 'list', arg: 'default|id=socket', desc: 'an SSH agent for RUN --mount=type=ssh (default: $SSH_AUTH_SOCK)' },
    'cache-to': { type: 'string', arg: 'registry/repo', desc: 'push each built step as REPO:<cache key>, for other builders' },
    'cache-from': { type: 'list', arg: 'registry/repo', desc: 'before building a step, look for REPO:<cache key> there' },
    rm: { type: 'boolean', desc: 'remove the working containers afterwards (default true)' },
    'force-rm': { type: 'boolean', desc: 'accepted for buildah compatibility: containers are always removed unless --rm=false' },
    platform: { type: 'string', arg: 'os/arch[/variant]', desc: 'the platform to build for (base images picked from lists)' },
    jobs: { type: 'string', arg: 'n', desc: 'build up to n independent stages at once (default 1)' },
    ...REGISTRY_FLAGS,
    ...POLICY_FLAGS,
    ...SIGN_FLAGS,
    quiet: { type: 'boolean', alias: 'q', desc: 'no step output, only the id' },
  },
  more: [
    'CONTEXT is a directory, - (a tarball on stdin), an http(s) URL of a tarball, or a git repository',
    '(git://..., ...git#ref:subdir, github.com/owner/repo). Step output goes to stderr, the id to stdout.',
    '',
    'Examples:',
    '  hod bud -t app:1 -t app:latest .',
    '  hod bud -f build/Dockerfile --build-arg VERSION=2 --target runtime --iidfile id.txt ctx/',
    '  hod bud --secret id=npmrc,src=$HOME/.npmrc -f - . < Dockerfile',
  ].join('\n'),
};

function buildArgs(ctx: Context): Map<string, string> {
  const args = new Map<string, string>();
  for (const file of list(ctx.flags, 'build-arg-file')) {
    for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq > 0) args.set(line.slice(0, eq).trim(), line.slice(eq + 1));
      else if (process.env[line.trim()] !== undefined) args.set(line.trim(), process.env[line.trim()]!);
    }
  }
  for (const a of list(ctx.flags, 'build-arg')) {
    const eq = a.indexOf('=');
    if (eq > 0) args.set(a.slice(0, eq), a.slice(eq + 1));
    else if (process.env[a] !== undefined) args.set(a, process.env[a]!);
  }
  return args;
}

function secrets(ctx: Context): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list(ctx.flags, 'secret')) {
    const kv = new Map(s.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as [string, string]));
    const id = kv.get('id');
    const src = kv.get('src') ?? kv.get('source');
    if (!id || !src) throw new UsageError(`--secret "${s}": give id=ID,src=FILE`);
    if (!fs.existsSync(src)) throw new UsageError(`--secret "${s}": ${src} does not exist`);
    out.set(id, src);
  }
  return out;
}

function sshAgents(ctx: Context): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list(ctx.flags, 'ssh')) {
    const eq = s.indexOf('=');
    const id = eq < 0 ? s : s.slice(0, eq);
    const sock = eq < 0 ? process.env.SSH_AUTH_SOCK : s.slice(eq + 1);
    if (!sock) throw new UsageError(`--ssh ${s}: no socket given and SSH_AUTH_SOCK is not set`);
    if (!fs.existsSync(sock)) throw new UsageError(`--ssh ${s}: ${sock} does not exist`);
    out.set(id, sock);
  }
  return out;
}

function buildContexts(ctx: Context): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list(ctx.flags, 'build-context')) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--build-context "${s}": give name=dir or name=docker-image://ref`);
    const value = s.slice(eq + 1);
    if (!value.startsWith('docker-image://') && !fs.statSync(value, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UsageError(`--build-context "${s}": ${value} is not a directory (or docker-image://ref)`);
    }
    out.set(s.slice(0, eq), value);
  }
  return out;
}

export async function run(ctx: Context): Promise<void> {
  if (ctx.args.length > 1) throw new UsageError(`give one context, not ${ctx.args.length}`);
  const format = str(ctx.flags, 'format') ?? process.env.BUILDAH_FORMAT;
  if (format !== undefined && format !== 'oci' && format !== 'docker') throw new UsageError(`--format: unrecognized image type "${format}" (oci or docker)`);
  const isolation = str(ctx.flags, 'isolation');
  if (isolation !== undefined && isolation !== 'oci' && isolation !== 'chroot') throw new UsageError(`--isolation: "${isolation}" is not oci or chroot`);
  const network = str(ctx.flags, 'network');
  if (network !== undefined && !['private', 'none', 'host'].includes(network)) throw new UsageError(`--network: "${network}" is not private, none or host`);
  const files = list(ctx.flags, 'file');
  if (files.length > 1) throw new UsageError('give one Dockerfile with -f');
  const pull: PullPolicy = bool(ctx.flags, 'pull-never') ? 'never' : bool(ctx.flags, 'pull') || bool(ctx.flags, 'pull-always') ? 'always' : 'missing';
  const platform = str(ctx.flags, 'platform');
  const quiet = bool(ctx.flags, 'quiet');
  const store = openStore(ctx);
  const context = await openContext(store, ctx.args[0] ?? '.');
  try {
    const dockerfile = readDockerfile(context.dir, files[0]);
    const res = await bud(store, {
      dockerfile,
      contextDir: context.dir,
      tags: list(ctx.flags, 'tag'),
      buildArgs: buildArgs(ctx),
      target: str(ctx.flags, 'target'),
      layers: ctx.flags.layers === undefined ? undefined : bool(ctx.flags, 'layers'),
      noCache: bool(ctx.flags, 'no-cache'),
      pull,
      pullOptions: { ...clientOptions(ctx), ...policyOption(ctx), platform: platform ? parsePlatform(platform) : undefined, progress: progressLines(ctx), note: notes(ctx) },
      format: format as 'oci' | 'docker' | undefined,
      squash: bool(ctx.flags, 'squash'),
      timestamp: int(ctx.flags, 'timestamp'),
      labels: list(ctx.flags, 'label'),
      annotations: list(ctx.flags, 'annotation'),
      isolation: isolation as 'oci' | 'chroot' | undefined,
      network: network as NetworkMode | undefined,
      runtime: str(ctx.flags, 'runtime'),
      ignoreFile: str(ctx.flags, 'ignorefile'),
      secrets: secrets(ctx),
      buildContexts: buildContexts(ctx),
      ssh: sshAgents(ctx),
      cacheTo: str(ctx.flags, 'cache-to'),
      cacheFrom: list(ctx.flags, 'cache-from'),
      jobs: int(ctx.flags, 'jobs'),
      rm: ctx.flags.rm === undefined ? undefined : bool(ctx.flags, 'rm'),
      platform: platform ? (({ os, architecture, variant }) => ({ os: os ?? 'linux', architecture: architecture ?? 'amd64', variant }))(parsePlatform(platform)) : undefined,
      log: quiet ? undefined : (line) => ctx.err(line),
      warn: (line) => ctx.err(line),
      ...signing(ctx),
    });
    const iidfile = str(ctx.flags, 'iidfile');
    if (iidfile) fs.writeFileSync(iidfile, `sha256:${res.id}`);
    ctx.out(res.id);
  } finally {
    context.cleanup();
  }
}
