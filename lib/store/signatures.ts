/**
 * Signatures of stored images, beside the OCI layout: `signatures/<manifest hex>`, one JSON file per signed
 * manifest listing containers/image's signature blobs in base64, so that a push carries them on. A file is
 * replaced whole by rename; garbage collection drops it with its manifest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { signatureFromBlob, signatureToBlob } from '../signature/blob.js';
import type { Signature } from '../signature/types.js';
import { writeFileAtomic } from './atomic.js';
import { hexOf, type StorePaths } from './paths.js';

interface SignatureFile {
  signatures: string[];
}

export function signaturesDir(paths: StorePaths): string {
  return path.join(paths.root, 'signatures');
}

function fileOf(paths: StorePaths, manifestDigest: string): string {
  return path.join(signaturesDir(paths), hexOf(manifestDigest));
}

export function readStoredSignatures(paths: StorePaths, manifestDigest: string): Signature[] {
  let text: string;
  try {
    text = fs.readFileSync(fileOf(paths, manifestDigest), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const where = `signatures of ${manifestDigest} in the store`;
  return (JSON.parse(text) as SignatureFile).signatures.map((b) => signatureFromBlob(Buffer.from(b, 'base64'), where));
}

/** Add signatures to a manifest's, skipping any already there byte for byte. */
export function addStoredSignatures(paths: StorePaths, manifestDigest: string, sigs: Signature[]): void {
  if (sigs.length === 0) return;
  const have = readStoredSignatures(paths, manifestDigest).map((s) => signatureToBlob(s).toString('base64'));
  const all = [...have];
  for (const s of sigs) {
    const b = signatureToBlob(s).toString('base64');
    if (!all.includes(b)) all.push(b);
  }
  if (all.length === have.length) return;
  fs.mkdirSync(signaturesDir(paths), { recursive: true, mode: 0o755 });
  writeFileAtomic(fileOf(paths, manifestDigest), JSON.stringify({ signatures: all } satisfies SignatureFile), paths.tmp);
}

/** Manifest digests with signature files (for garbage collection and `system check`). */
export function signedManifests(paths: StorePaths): string[] {
  const dir = signaturesDir(paths);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`) : [];
}

export function removeStoredSignatures(paths: StorePaths, manifestDigest: string): void {
  fs.rmSync(fileOf(paths, manifestDigest), { force: true });
}
