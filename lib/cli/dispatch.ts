import fs from 'node:fs';
import { HodError, exitCodeOf } from '../errors.js';
import type { Context } from './context.js';
import { GLOBAL_FLAGS, parseFlags, renderHelp, type VerbSpec } from './flags.js';
import { VERBS } from './verbs.js';

export interface VerbModule {
  spec: VerbSpec;
  run(ctx: Context): Promise<number | void>;
}

export interface Io {
  out?: (s: string) => void;
  err?: (s: string) => void;
}

export function topHelp(): string {
  const w = Math.max(...Object.keys(VERBS).map((v) => v.length)) + 2;
  const verbs = Object.entries(VERBS).map(([v, d]) => `  ${v.padEnd(w)}${d}`);
  const globals = Object.entries(GLOBAL_FLAGS).map(([n, f]) => `  --${n}${f.type === 'boolean' ? '' : ` ${f.arg}`}  ${f.desc}`);
  return ['hod: build OCI container images, daemonless, from the shell', '', 'Usage: hod [global flags] VERB [flags] [args]', '', 'Verbs:', ...verbs, '', 'Global flags:', ...globals, '', 'Run "hod VERB --help" for a verb\'s flags.', ''].join('\n');
}

/** Global flags may come before the verb; find the verb without knowing its own flags. */
export function splitVerb(argv: string[]): { verb?: string; rest: string[] } {
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

let stdoutStream = false;

/**
 * A line to stdout, written with writeSync: process.stdout costs 2 ms to set up, 4% of a listing verb. A
 * non-blocking stdout (EAGAIN) falls back to the stream for good, keeping the order. A reader that went away
 * (`hod images | head -1`) ends hod quietly, as SIGPIPE ends a C tool.
 */
export function stdoutLine(s: string): void {
  let buf = Buffer.from(s + '\n');
  while (!stdoutStream && buf.length) {
    try {
      buf = buf.subarray(fs.writeSync(1, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw e;
      stdoutStream = true;
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
        process.exit(process.exitCode ?? 0);
      });
    }
  }
  if (buf.length) process.stdout.write(buf);
}

/** Run one verb's module on the arguments around the verb; every failure becomes one "Error:" line and an exit code. */
export async function runVerb(verb: string, load: () => Promise<VerbModule> | VerbModule, argv: string[], io: Io = {}): Promise<number> {
  const out = io.out ?? stdoutLine;
  const err = io.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const debug = argv.includes('--log-level=debug') || argv.join(' ').includes('--log-level debug');
  try {
    const mod = await load();
    const { rest } = splitVerb(argv);
    // after "--" is a command's own arguments (hod run CTR -- ls --help)
    const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (own.includes('--help') || own.includes('-h')) {
      out(renderHelp(verb, mod.spec));
      return 0;
    }
    const parsed = parseFlags(rest, mod.spec);
    return (await mod.run({ ...parsed, out, err })) ?? 0;
  } catch (e) {
    return reportError(e, err, debug);
  }
}

export function reportError(e: unknown, err: (s: string) => void, debug: boolean): number {
  if (debug && e instanceof Error) err(e.stack ?? String(e));
  err(`Error: ${e instanceof HodError || e instanceof Error ? e.message : String(e)}`);
  return exitCodeOf(e);
}

