/**
 * RUN: the command (exec form, shell form through SHELL, or a here-document script) and its `--mount`s
 * (bind, cache, tmpfs, secret, ssh) and `--network`, turned into `run` options. Secrets and mounts are bound in for
 * the step only, so nothing of them lands in the layer.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DockerfileError } from '../errors.js';
import type { NetworkMode } from '../run/spec.js';
import { expandWord, type Lookup } from './lex.js';
import type { Instruction } from './parse.js';

export interface RunStepContext {
  file: string;
  escape: string;
  lookup: Lookup;
  shell: string[];
  contextDir: string;
  /** Where cache mounts keep their content between builds. */
  cacheMountDir: string;
  secrets: Map<string, string>;
  /** SSH agent sockets by id, for --mount=type=ssh (`--ssh`). */
  ssh: Map<string, string>;
  /** The root filesystem of a stage or image named by a mount's from=. */
  rootfsOf: (ref: string) => Promise<string>;
  /** A scratch directory for copies of read-write bind mounts, removed after the step. */
  scratch: () => string;
}

export interface RunStep {
  argv: string[];
  mounts: string[];
  network?: NetworkMode;
  /** Variables the mounts set (SSH_AUTH_SOCK). */
  env: string[];
  /** For history and the cache key: mounts matter, secrets' contents do not. */
  resolved: string;
}

/** The command to run. A lone here-document is the script; here-documents after a command are its input. */
function command(ins: Instruction, shell: string[]): string[] {
  if (ins.json) return ins.json;
  if (ins.heredocs.length === 0) return [...shell, ins.args];
  if (ins.heredocs.length === 1 && /^<<-?["']?\w+["']?$/.test(ins.args.trim())) {
    const script = ins.heredocs[0]!.content;
    if (script.startsWith('#!')) {
      const interp = script.slice(2, script.indexOf('\n')).trim().split(/\s+/);
      return [...interp, '-c', script];
    }
    return [...shell, script];
  }
  // the shell reads the here-documents itself, as written (and expands in them what it expands)
  return [...shell, `${ins.args}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
}

function parseMount(spec: string, ins: Instruction, c: RunStepContext, env: string[]): Promise<string | undefined> | string | undefined {
  const fail = (m: string) => new DockerfileError(c.file, ins.line, `RUN --mount=${spec}: ${m}`);
  const kv = new Map<string, string>();
  const flags = new Set<string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) flags.add(part.toLowerCase());
    else kv.set(part.slice(0, eq).toLowerCase(), expandWord(part.slice(eq + 1), c.lookup, c.escape));
  }
  const type = kv.get('type') ?? 'bind';
  const target = kv.get('target') ?? kv.get('dst') ?? kv.get('destination');
  const ro = flags.has('ro') || flags.has('readonly') || kv.get('ro') === 'true' || kv.get('readonly') === 'true';
  const rw = flags.has('rw') || flags.has('readwrite') || kv.get('rw') === 'true' || kv.get('readwrite') === 'true';
  switch (type) {
    case 'bind': {
      if (!target) throw fail('a bind mount needs target=');
      const src = kv.get('source') ?? kv.get('src') ?? '.';
      return (async () => {
        const root = kv.has('from') ? await c.rootfsOf(kv.get('from')!) : c.contextDir;
        const host = path.join(root, path.posix.normalize(`/${src}`));
        if (!fs.existsSync(host)) throw fail(`source "${src}" does not exist${kv.has('from') ? ` in "${kv.get('from')}"` : ' in the context'}`);
        if (!rw) return `type=bind,source=${host},destination=${target},ro`;
        // writes are allowed and thrown away: the step gets its own copy
        const copy = path.join(c.scratch(), 'bind');
        fs.cpSync(host, copy, { recursive: true, verbatimSymlinks: true });
        return `type=bind,source=${copy},destination=${target},rw`;
      })();
    }
    case 'cache': {
      if (!target) throw fail('a cache mount needs target=');
      const id = kv.get('id') ?? target;
      const dir = path.join(c.cacheMountDir, crypto.createHash('sha256').update(id).digest('hex').slice(0, 32));
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir, { recursive: true, mode: Number.parseInt(kv.get('mode') ?? '755', 8) });
        if (kv.has('uid') || kv.has('gid')) fs.chownSync(dir, Number(kv.get('uid') ?? 0), Number(kv.get('gid') ?? 0));
      }
      return `type=bind,source=${dir},destination=${target},${ro ? 'ro' : 'rw'}`;
    }
    case 'tmpfs': {
      if (!target) throw fail('a tmpfs mount needs target=');
      return `type=tmpfs,destination=${target}${kv.has('size') ? `,tmpfs-size=${kv.get('size')}` : ''}`;
    }
    case 'secret': {
      const id = kv.get('id') ?? (target ? path.posix.basename(target) : undefined);
      if (!id) throw fail('a secret mount needs id=');
      const src = c.secrets.get(id);
      if (src === undefined) {
        if (flags.has('required') || kv.get('required') === 'true') throw fail(`secret "${id}" was not given (--secret id=${id},src=FILE)`);
        return undefined;
      }
      return `type=bind,source=${src},destination=${target ?? `/run/secrets/${id}`},ro`;
    }
    case 'ssh': {
      const id = kv.get('id') ?? 'default';
      const sock = c.ssh.get(id);
      if (sock === undefined) {
        if (flags.has('required') || kv.get('required') === 'true') throw fail(`no SSH agent "${id}" was given (--ssh ${id === 'default' ? 'default' : `${id}=SOCKET`})`);
        return undefined;
      }
      const dest = target ?? `/run/buildkit/ssh_agent.${env.filter((e) => e.startsWith('SSH_AUTH_SOCK=')).length}`;
      if (!env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) env.push(`SSH_AUTH_SOCK=${dest}`);
      return `type=bind,source=${sock},destination=${dest}`;
    }
    default:
      throw fail(`unknown mount type "${type}" (bind, cache, tmpfs, secret, ssh)`);
  }
}

export async function runStep(ins: Instruction, c: RunStepContext): Promise<RunStep> {
  const mounts: string[] = [];
  const env: string[] = [];
  let network: NetworkMode | undefined;
  const kept: string[] = [];
  for (const f of ins.flags) {
    if (f.name === 'mount') {
      const m = await parseMount(f.value ?? '', ins, c, env);
      if (m) mounts.push(m);
      kept.push(`--mount=${f.value}`);
    } else if (f.name === 'network') {
      const v = f.value ?? '';
      if (v === 'default') network = undefined;
      else if (v === 'none' || v === 'host') network = v;
      else throw new DockerfileError(c.file, ins.line, `RUN --network=${v}: must be default, none or host`);
      kept.push(`--network=${v}`);
    } else if (f.name !== 'security') {
      throw new DockerfileError(c.file, ins.line, `RUN: unknown flag --${f.name}`);
    }
  }
  const argv = command(ins, c.shell);
  return { argv, mounts, network, env, resolved: `RUN ${kept.join(' ')}${kept.length ? ' ' : ''}${JSON.stringify(argv)}` };
}
