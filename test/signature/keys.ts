/**
 * Throwaway signing keys made by the tests: a GPG keyring in a temporary GNUPGHOME, and cosign-format key
 * pairs (scrypt + NaCl secretbox around a PKCS#8 P-256 key, as `cosign generate-key-pair` writes them).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { secretbox } from '@noble/ciphers/salsa.js';

export interface GpgKey {
  home: string;
  fingerprint: string;
  /** The armored public key, exported to a file. */
  publicKeyFile: string;
}

/** A new keyring with one passwordless RSA key for `email`. */
export function makeGpgKey(dir: string, email: string): GpgKey {
  const home = fs.mkdtempSync(path.join(dir, 'gnupg-'));
  fs.chmodSync(home, 0o700);
  const gpg = (args: string[], input?: string) => execFileSync('gpg', ['--batch', '--homedir', home, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  gpg(['--passphrase', '', '--quick-gen-key', email, 'rsa2048', 'sign', 'never']);
  const fingerprint = gpg(['--with-colons', '--list-keys', email]).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  const publicKeyFile = path.join(dir, `${email.replace(/[^a-z0-9]/gi, '_')}.gpg`);
  fs.writeFileSync(publicKeyFile, gpg(['--armor', '--export', fingerprint]));
  return { home, fingerprint, publicKeyFile };
}

export interface CosignKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
  passphraseFile: string;
}

/** A cosign key pair in `dir` under `name`; small scrypt parameters keep tests quick. */
export function makeCosignKeyPair(dir: string, name: string, passphrase: string, pemType = 'ENCRYPTED SIGSTORE PRIVATE KEY'): CosignKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(24);
  const params = { N: 1024, r: 8, p: 1 };
  const key = crypto.scryptSync(Buffer.from(passphrase), salt, 32, params);
  const sealed = secretbox(key, nonce).seal(privateKey.export({ format: 'der', type: 'pkcs8' }));
  const body = JSON.stringify({
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  });
  const b64 = Buffer.from(body).toString('base64').replace(/.{64}/g, '$&\n');
  const out = {
    privateKeyFile: path.join(dir, `${name}.key`),
    publicKeyFile: path.join(dir, `${name}.pub`),
    passphraseFile: path.join(dir, `${name}.pass`),
  };
  fs.writeFileSync(out.privateKeyFile, `-----BEGIN ${pemType}-----\n${b64}\n-----END ${pemType}-----\n`);
  fs.writeFileSync(out.publicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }));
  fs.writeFileSync(out.passphraseFile, `${passphrase}\n`);
  return out;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
