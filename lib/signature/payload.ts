/**
 * The JSON payload both signature formats sign: what manifest (by digest) is claimed to be which image (a
 * docker reference). Simple signing names its type "atomic container signature", sigstore "cosign container
 * image signature"; the rest is the same. Reading is strict about `critical`, as containers/image is: a
 * field it does not know there is a payload it cannot trust.
 */
import { SignatureError } from './types.js';

export interface Payload {
  type: string;
  dockerReference: string;
  manifestDigest: string;
  creator?: string;
  timestamp?: number;
}

/** The payload's bytes, in the field order containers/image writes them. */
export function makePayload(type: string, dockerReference: string, manifestDigest: string, optional: { creator?: string; timestamp?: number } = {}): Buffer {
  const opt: Record<string, unknown> = {};
  if (optional.creator !== undefined) opt.creator = optional.creator;
  if (optional.timestamp !== undefined) opt.timestamp = optional.timestamp;
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': manifestDigest }, type },
      optional: opt,
    }),
  );
}

function object(v: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SignatureError('invalid', `signature payload: ${what} is not a JSON object`);
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) throw new SignatureError('invalid', `signature payload: unexpected field "${extra[0]}" in ${what}`);
  for (const k of keys) if (!(k in o)) throw new SignatureError('invalid', `signature payload: ${what} lacks "${k}"`);
  return o;
}

function string(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new SignatureError('invalid', `signature payload: ${what} is not a string`);
  return v;
}

/** Read a payload whose cryptographic signature was verified; `type` is the one its format requires. */
export function parsePayload(bytes: Buffer, type: string): Payload {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new SignatureError('invalid', `signature payload is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SignatureError('invalid', 'signature payload is not a JSON object');
  const top = doc as Record<string, unknown>;
  const critical = object(top.critical, '"critical"', ['type', 'image', 'identity']);
  const got = string(critical.type, 'critical.type');
  if (got !== type) throw new SignatureError('invalid', `signature payload has type "${got}", expected "${type}"`);
  const image = object(critical.image, 'critical.image', ['docker-manifest-digest']);
  const identity = object(critical.identity, 'critical.identity', ['docker-reference']);
  const p: Payload = {
    type,
    manifestDigest: string(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest'),
    dockerReference: string(identity['docker-reference'], 'critical.identity.docker-reference'),
  };
  const optional = top.optional;
  if (optional !== undefined && optional !== null) {
    if (typeof optional !== 'object' || Array.isArray(optional)) throw new SignatureError('invalid', 'signature payload: "optional" is not a JSON object');
    const o = optional as Record<string, unknown>;
    if (typeof o.creator === 'string') p.creator = o.creator;
    if (typeof o.timestamp === 'number') p.timestamp = o.timestamp;
  }
  return p;
}
