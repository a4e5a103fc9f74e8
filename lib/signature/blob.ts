/**
 * The byte form of a signature that containers/image keeps in `dir:` images (`signature-N`), look-aside
 * storage and hod's store: a simple-signing signature is its OpenPGP bytes as they are; any other format is
 * a zero byte, the format's name, a newline and a JSON body (a sigstore signature's payload in base64).
 */
import { SignatureError, type Signature } from './types.js';

export function signatureToBlob(sig: Signature): Buffer {
  if (sig.format === 'simple-signing') return sig.bytes;
  const body = JSON.stringify({ mimeType: sig.mimeType, payload: sig.payload.toString('base64'), annotations: sig.annotations });
  return Buffer.concat([Buffer.from([0]), Buffer.from('sigstore-json\n'), Buffer.from(body)]);
}

/** OpenPGP packet tags a signed message starts with: compressed data, one-pass signature, signature. */
function isOpenPgp(first: number): boolean {
  const newFormat = (first & 0xc0) === 0xc0;
  const tag = newFormat ? first & 0x3f : (first & 0x3c) >> 2;
  return (first & 0x80) !== 0 && (tag === 8 || tag === 4 || tag === 2);
}

export function signatureFromBlob(blob: Buffer, where: string): Signature {
  if (blob.length === 0) throw new SignatureError('invalid', `${where}: empty signature`);
  if (isOpenPgp(blob[0])) return { format: 'simple-signing', bytes: blob };
  if (blob[0] !== 0) throw new SignatureError('invalid', `${where}: unrecognized signature format (first byte 0x${blob[0].toString(16)})`);
  const nl = blob.indexOf(0x0a);
  if (nl < 0) throw new SignatureError('invalid', `${where}: invalid signature format (no newline after the format name)`);
  const format = blob.subarray(1, nl).toString('latin1');
  const chunk = blob.subarray(nl + 1);
  if (format === 'simple-signing') return { format: 'simple-signing', bytes: chunk };
  if (format !== 'sigstore-json') throw new SignatureError('invalid', `${where}: unrecognized signature format "${format.replace(/[^\x20-\x7e]/g, '?')}"`);
  let v: { mimeType?: unknown; payload?: unknown; annotations?: unknown };
  try {
    v = JSON.parse(chunk.toString('utf8')) as typeof v;
  } catch (err) {
    throw new SignatureError('invalid', `${where}: sigstore signature is not JSON: ${(err as Error).message}`);
  }
  if (typeof v.mimeType !== 'string' || typeof v.payload !== 'string' || (v.annotations !== undefined && v.annotations !== null && typeof v.annotations !== 'object')) {
    throw new SignatureError('invalid', `${where}: sigstore signature lacks mimeType, payload or annotations`);
  }
  return { format: 'sigstore-json', mimeType: v.mimeType, payload: Buffer.from(v.payload, 'base64'), annotations: (v.annotations ?? {}) as Record<string, string> };
}
