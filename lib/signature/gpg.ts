/**
 * Simple signing through gpg(1): a signature is an OpenPGP signed message (not detached, binary) whose
 * content is the JSON payload, as containers/image makes it through gpgme. Signing uses the user's keyring
 * ($GNUPGHOME); verifying imports only the keys a policy trusts into a keyring of its own, so no key the
 * user happens to have can vouch for an image.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTool, type ToolResult } from '../store/tool.js';
import { parsePayload } from './payload.js';
import { SIMPLE_SIGNING_TYPE, SignatureError, type KeySet, type VerifiedSignature } from './types.js';

const BASE = ['--batch', '--no-tty', '--no-auto-key-retrieve', '--no-auto-key-locate'];

function missing(r: ToolResult): boolean {
  return r.exitCode === 127 && /could not start/.test(r.shortMessage);
}

function gpgWords(r: ToolResult): string {
  const lines = r.stderr.toString().split('\n').filter((l) => l && !l.startsWith('[GNUPG:]'));
  return lines.slice(-2).join('; ').replace(/^gpg: /, '') || r.shortMessage;
}

/** Sign `payload` with a key of the user's keyring; the passphrase from a file, else gpg-agent's prompt. */
export async function gpgSign(payload: Buffer, key: string, opts: { passphraseFile?: string } = {}): Promise<Buffer> {
  const args = [...BASE, '--sign', '--local-user', key, '--output', '-'];
  if (opts.passphraseFile) args.push('--pinentry-mode', 'loopback', '--passphrase-file', opts.passphraseFile);
  const r = await runTool('gpg', args, { input: payload });
  if (missing(r)) throw new SignatureError('sign', '--sign-by needs gpg: apt-get install gnupg');
  if (r.exitCode !== 0 || r.stdout.length === 0) throw new SignatureError('sign', `signing with GPG key ${key}: ${gpgWords(r)}`);
  return r.stdout;
}

interface Keyring {
  home: string;
  /** Fingerprints of every imported key and subkey. */
  fingerprints: Set<string>;
}

const keyrings = new Map<string, Promise<Keyring>>();

function keySetId(keys: KeySet): string {
  return JSON.stringify([keys.paths, keys.data.map((d) => d.toString('base64'))]);
}

async function importKeys(keys: KeySet): Promise<Keyring> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-gpg-'));
  process.once('exit', () => fs.rmSync(home, { recursive: true, force: true }));
  const gpg = (args: string[], input?: Buffer) => runTool('gpg', [...BASE, '--no-autostart', '--homedir', home, ...args], { input });
  const sources: { what: string; bytes: Buffer }[] = [];
  for (const p of keys.paths) {
    try {
      sources.push({ what: p, bytes: fs.readFileSync(p) });
    } catch (err) {
      throw new SignatureError('policy', `signedBy key file ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  }
  keys.data.forEach((bytes, i) => sources.push({ what: `keyData #${i + 1}`, bytes }));
  for (const s of sources) {
    const r = await gpg(['--import'], s.bytes);
    if (missing(r)) throw new SignatureError('policy', 'the policy requires GPG signatures, which need gpg: apt-get install gnupg');
    if (r.exitCode !== 0) throw new SignatureError('policy', `signedBy ${s.what}: not an OpenPGP public key (${gpgWords(r)})`);
  }
  const list = await gpg(['--with-colons', '--fingerprint', '--fingerprint', '--list-keys']);
  const fingerprints = new Set(
    list.stdout
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('fpr:'))
      .map((l) => l.split(':')[9]),
  );
  if (fingerprints.size === 0) throw new SignatureError('policy', `signedBy: no keys in ${sources.map((s) => s.what).join(', ')}`);
  return { home, fingerprints };
}

function keyring(keys: KeySet): Promise<Keyring> {
  const id = keySetId(keys);
  let k = keyrings.get(id);
  if (!k) keyrings.set(id, (k = importKeys(keys)));
  return k;
}

/**
 * Check a simple-signing signature against the trusted keys and read its payload. The payload is only read
 * once gpg has vouched for it; each way of failing has its own message (altered, unknown key, not a
 * signature).
 */
export async function verifySimpleSigning(bytes: Buffer, keys: KeySet): Promise<VerifiedSignature> {
  const ring = await keyring(keys);
  const r = await runTool('gpg', [...BASE, '--no-autostart', '--homedir', ring.home, '--status-fd', '2', '--output', '-', '--decrypt'], { input: bytes });
  const status = r.stderr
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('[GNUPG:] '))
    .map((l) => l.slice(9).split(' '));
  const valid = status.find((s) => s[0] === 'VALIDSIG');
  const has = (word: string) => status.find((s) => s[0] === word);
  if (!valid || r.exitCode !== 0) {
    const bad = has('BADSIG');
    if (bad) throw new SignatureError('key', `the GPG signature by key ${bad[1]} does not match what it signs: the payload was altered after signing`);
    const noKey = has('NO_PUBKEY') ?? has('ERRSIG');
    if (noKey) throw new SignatureError('key', `signed by GPG key ${noKey[1]}, which is not one of the keys the policy trusts`);
    for (const w of ['EXPKEYSIG', 'REVKEYSIG', 'EXPSIG']) {
      const s = has(w);
      if (s) throw new SignatureError('key', `the GPG signature by key ${s[1]} is ${w === 'REVKEYSIG' ? 'made with a revoked key' : 'expired'}`);
    }
    if (has('NODATA')) throw new SignatureError('invalid', 'not an OpenPGP signed message');
    throw new SignatureError('invalid', `the GPG signature is damaged or was altered (${gpgWords(r)})`);
  }
  // VALIDSIG <signing key fpr> <date> <ts> <expiry> <ver> <res> <pk algo> <hash algo> <class> <primary fpr>
  const signer = valid[1];
  const primary = valid[10] ?? signer;
  if (!ring.fingerprints.has(signer) && !ring.fingerprints.has(primary)) {
    throw new SignatureError('key', `signed by GPG key ${primary}, which is not one of the keys the policy trusts`);
  }
  const p = parsePayload(r.stdout, SIMPLE_SIGNING_TYPE);
  return { dockerReference: p.dockerReference, manifestDigest: p.manifestDigest, key: primary };
}
