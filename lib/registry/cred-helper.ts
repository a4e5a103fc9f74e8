/**
 * docker-credential-<name> programs, named by `credHelpers` and `credsStore` in auth files. The protocol
 * (docker-credential-helpers): `get` and `erase` read the server URL on stdin; `store` reads
 * {"ServerURL","Username","Secret"}; `get` prints {"Username","Secret"}, and an identity token comes back
 * as Username "<token>". A helper with nothing saved says "credentials not found" and exits non-zero.
 *
 * The helpers run through runTool rather than execa: execa costs 22 ms to load on every pull and push
 * (see store/tool.ts), and these calls need only stdin in, stdout out.
 */
import { HodError } from '../errors.js';
import { runTool, type ToolResult } from '../store/tool.js';
import type { Credentials } from './client.js';

const NOT_FOUND_RE = /credentials not found/i;
const IDENTITY_TOKEN_USER = '<token>';

/** The program for a helper name; a name with a path separator would run some other program. */
function program(helper: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) throw new HodError('EAUTH', `"${helper}" is not a credential helper name (docker-credential-<name>)`);
  return `docker-credential-${helper}`;
}

/** What went wrong, from the helper's own words; never the stdin, which may hold a secret. */
function failure(prog: string, verb: string, server: string, r: ToolResult): HodError {
  if (r.exitCode === 127 && /could not start/.test(r.shortMessage)) {
    return new HodError('EAUTH', `${prog} ${verb} ${server}: ${prog} is not installed or not on $PATH`);
  }
  const said = r.stderr.toString().trim() || r.stdout.toString().trim() || r.shortMessage;
  return new HodError('EAUTH', `${prog} ${verb} ${server}: ${said}`);
}

function notFound(r: ToolResult): boolean {
  return r.exitCode !== 0 && NOT_FOUND_RE.test(r.stdout.toString() + r.stderr.toString());
}

/** The credentials a helper keeps for `server`, or undefined when it has none. */
export async function credentialHelperGet(helper: string, server: string, env?: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const prog = program(helper);
  const r = await runTool(prog, ['get'], { input: Buffer.from(server), env });
  if (notFound(r)) return undefined;
  if (r.exitCode !== 0) throw failure(prog, 'get', server, r);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout.toString());
  } catch {
    throw new HodError('EAUTH', `${prog} get ${server}: its answer is not JSON`);
  }
  const { Username: user, Secret: secret } = (parsed ?? {}) as { Username?: unknown; Secret?: unknown };
  if (typeof secret !== 'string' || (user !== undefined && typeof user !== 'string')) {
    throw new HodError('EAUTH', `${prog} get ${server}: its answer lacks a string "Secret"`);
  }
  if (!secret && !user) return undefined;
  if (user === IDENTITY_TOKEN_USER) return { identityToken: secret };
  return { username: user ?? '', password: secret };
}

/**
 * Synchronous, for `hod login` / `hod logout`, whose auth-file edits are synchronous; plain spawnSync, loaded
 * on first use like runTool's spawn.
 */
function runSync(prog: string, verb: string, input: string, env?: NodeJS.ProcessEnv): ToolResult {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const r = spawnSync(prog, [verb], { input, env: env && { ...process.env, ...env } });
  // a helper that exits without reading its input leaves EPIPE behind: its exit status still says it all
  const error = (r.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' ? undefined : r.error;
  const exitCode = error ? 127 : r.status ?? 128;
  return {
    exitCode,
    stdout: r.stdout ?? Buffer.alloc(0),
    stderr: r.stderr ?? Buffer.alloc(0),
    shortMessage: error ? `${prog} could not start: ${error.message}` : `${prog} exited with ${exitCode}`,
  };
}

/** Save credentials in a helper (what `hod login` does for a registry its auth file hands to one). */
export function credentialHelperStore(helper: string, server: string, username: string, secret: string, env?: NodeJS.ProcessEnv): void {
  const prog = program(helper);
  const r = runSync(prog, 'store', JSON.stringify({ ServerURL: server, Username: username, Secret: secret }), env);
  if (r.exitCode !== 0) throw failure(prog, 'store', server, r);
}

/** Forget the credentials a helper keeps for `server`; false when it kept none. */
export function credentialHelperErase(helper: string, server: string, env?: NodeJS.ProcessEnv): boolean {
  const prog = program(helper);
  const r = runSync(prog, 'erase', server, env);
  if (notFound(r)) return false;
  if (r.exitCode !== 0) throw failure(prog, 'erase', server, r);
  return true;
}
