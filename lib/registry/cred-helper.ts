/**
 * docker-credential-<name> programs (credHelpers and credsStore of auth.json): `get` reads the server URL
 * on stdin and prints {"Username": ..., "Secret": ...}. An identity token comes back as Username "<token>".
 */
import { HodError } from '../errors.js';
import { runTool } from '../store/tool.js';
import type { Credentials } from './client.js';

export async function credentialHelperGet(helper: string, registry: string): Promise<Credentials | undefined> {
  const prog = `docker-credential-${helper}`;
  const res = await runTool(prog, ['get'], { input: Buffer.from(registry) });
  const out = res.stdout.toString().trim();
  if (res.exitCode !== 0) {
    if (/credentials not found/i.test(out + res.stderr.toString())) return undefined;
    throw new HodError('EAUTH', `${prog} get ${registry}: ${res.stderr.toString().trim() || out || res.shortMessage}`);
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(out) as { Username?: string; Secret?: string };
  } catch {
    throw new HodError('EAUTH', `${prog} get ${registry}: its answer is not JSON`);
  }
  if (!parsed.Secret) return undefined;
  if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
  return { username: parsed.Username ?? '', password: parsed.Secret };
}
