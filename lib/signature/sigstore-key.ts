/**
 * Keys as cosign writes them. A private key is PEM "ENCRYPTED SIGSTORE PRIVATE KEY" (older cosign: "ENCRYPTED
 * COSIGN PRIVATE KEY") around JSON: the key of a NaCl secretbox (XSalsa20-Poly1305) derived from the
 * passphrase with scrypt, the nonce, and the sealed PKCS#8 DER private key. A public key is a plain PEM
 * "PUBLIC KEY".
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { secretbox } from '@noble/ciphers/salsa.js';
import { SignatureError, type KeySet } from './types.js';

const PRIVATE_PEM_TYPES = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function pemBlocks(text: string): { type: string; der: Buffer }[] {
  const out: { type: string; der: Buffer }[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    out.push({ type: m[1], der: Buffer.from(m[2].replace(/\s+/g, ''), 'base64') });
  }
  return out;
}

function isEncryptedKey(v: unknown): v is EncryptedKey {
  const k = v as EncryptedKey;
  return (
    typeof k?.kdf?.salt === 'string' &&
    typeof k.kdf.params?.N === 'number' &&
    typeof k.kdf.params.r === 'number' &&
    typeof k.kdf.params.p === 'number' &&
    typeof k.cipher?.nonce === 'string' &&
    typeof k.ciphertext === 'string'
  );
}

/** Unlock a cosign private key; a wrong passphrase and a damaged file get different messages. */
export function loadSigstorePrivateKey(pem: Buffer, passphrase: Buffer, where: string): crypto.KeyObject {
  const block = pemBlocks(pem.toString('utf8')).find((b) => PRIVATE_PEM_TYPES.includes(b.type));
  if (!block) throw new SignatureError('sign', `${where}: not a cosign private key (no "-----BEGIN ${PRIVATE_PEM_TYPES[0]}-----" block)`);
  let enc: unknown;
  try {
    enc = JSON.parse(block.der.toString('utf8'));
  } catch {
    throw new SignatureError('sign', `${where}: the key's encrypted body is not JSON`);
  }
  if (!isEncryptedKey(enc)) throw new SignatureError('sign', `${where}: the key's encrypted body lacks kdf, cipher or ciphertext`);
  if (enc.kdf.name !== 'scrypt') throw new SignatureError('sign', `${where}: key derivation "${enc.kdf.name}" is not supported (cosign uses scrypt)`);
  if (enc.cipher.name !== 'nacl/secretbox') throw new SignatureError('sign', `${where}: cipher "${enc.cipher.name}" is not supported (cosign uses nacl/secretbox)`);
  const { N, r, p } = enc.kdf.params;
  let secret: Buffer;
  try {
    secret = crypto.scryptSync(passphrase, Buffer.from(enc.kdf.salt, 'base64'), 32, { N, r, p, maxmem: 256 * N * r + (1 << 20) });
  } catch (err) {
    throw new SignatureError('sign', `${where}: scrypt parameters N=${N} r=${r} p=${p} refused: ${(err as Error).message}`);
  }
  let der: Uint8Array;
  try {
    der = secretbox(secret, Buffer.from(enc.cipher.nonce, 'base64')).open(Buffer.from(enc.ciphertext, 'base64'));
  } catch {
    throw new SignatureError('sign', `${where}: wrong passphrase${passphrase.length ? '' : ' (none given: use --sign-passphrase-file)'}`);
  }
  try {
    return crypto.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new SignatureError('sign', `${where}: the decrypted key is not a PKCS#8 private key: ${(err as Error).message}`);
  }
}

export interface NamedPublicKey {
  /** Where it came from, for messages: a file path or "keyData". */
  name: string;
  key: crypto.KeyObject;
}

/** The public keys a sigstoreSigned requirement names; files and inline data are PEM. */
export function loadSigstorePublicKeys(keys: KeySet): NamedPublicKey[] {
  const out: NamedPublicKey[] = [];
  const add = (name: string, pem: Buffer) => {
    const blocks = pemBlocks(pem.toString('utf8')).filter((b) => b.type === 'PUBLIC KEY');
    if (!blocks.length) throw new SignatureError('policy', `sigstoreSigned ${name}: no "-----BEGIN PUBLIC KEY-----" block`);
    for (const b of blocks) {
      try {
        out.push({ name, key: crypto.createPublicKey({ key: b.der, format: 'der', type: 'spki' }) });
      } catch (err) {
        throw new SignatureError('policy', `sigstoreSigned ${name}: not a public key: ${(err as Error).message}`);
      }
    }
  };
  for (const p of keys.paths) {
    let pem: Buffer;
    try {
      pem = fs.readFileSync(p);
    } catch (err) {
      throw new SignatureError('policy', `sigstoreSigned key file ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    add(p, pem);
  }
  keys.data.forEach((d, i) => add(`keyData #${i + 1}`, d));
  return out;
}
