/**
 * Bearer tokens from the realm a registry's challenge names (the Docker token protocol, and its OAuth2 form
 * for identity tokens), kept per set of scopes until shortly before they expire.
 */
import type { Dispatcher } from 'undici';
import type { Challenge } from './challenge.js';
import type { Credentials } from './client.js';
import { httpRequest, type Response } from './http.js';
import { RegistryError } from './registry-error.js';

export interface Token {
  token: string;
  /** ms since the epoch; refreshed a little before. */
  expiresAt: number;
}

/** The token protocol's floor when a server names no lifetime. */
const DEFAULT_LIFETIME_S = 60;
/** Refresh this long before expiry, so a token does not lapse between check and use. */
const MARGIN_MS = 5_000;

/** One cache key per set of scopes, whatever their order. */
export function scopeKey(scopes: string[]): string {
  return [...scopes].sort().join(' ');
}

/** Tokens per scope key; concurrent requests for one key share a single fetch. */
export class TokenCache {
  private readonly entries = new Map<string, Promise<Token>>();

  async get(key: string, fetch: () => Promise<Token>): Promise<string> {
    let entry = this.entries.get(key);
    if (entry) {
      const t = await entry.catch(() => undefined);
      if (!t || t.expiresAt <= Date.now()) entry = undefined;
    }
    if (!entry) {
      entry = fetch();
      this.entries.set(key, entry);
      entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    return (await entry).token;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * Ask the realm for a token for `scopes`: anonymously, with Basic credentials (GET), or with an identity
 * token (OAuth2 refresh_token grant, POST), as containers/image does.
 */
export async function fetchToken(d: Dispatcher, host: string, ch: Challenge, scopes: string[], creds: Credentials | undefined): Promise<Token> {
  const realm = ch.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new RegistryError(`${host}: Bearer challenge without a usable realm (${JSON.stringify(realm ?? '')})`);
  }
  let res: Response;
  if (creds && 'identityToken' in creds) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'hod' });
    if (ch.params.service) form.set('service', ch.params.service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    res = await httpRequest(d, url, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirects: 3 });
  } else {
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (creds) {
      url.searchParams.set('account', creds.username);
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    res = await httpRequest(d, url, { headers, redirects: 3 });
  }
  const status = res.statusCode;
  if (status === 401 || status === 403) {
    await res.body.dump();
    if (!creds) throw new RegistryError(`${host}: unauthorized: the token server ${url.origin} gives no anonymous access: log in to ${host} first`, { code: 'EAUTH', status });
    const who = 'username' in creds ? ` for user "${creds.username}"` : ' (identity token)';
    throw new RegistryError(`${host}: authentication failed: invalid username/password${who}`, { code: 'EAUTH', status });
  }
  if (status !== 200) {
    await res.body.dump();
    throw new RegistryError(`${host}: token server ${url.origin} answered ${status}`, { status, retryable: status === 429 || status >= 500 });
  }
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = (await res.body.json()) as typeof body;
  } catch {
    throw new RegistryError(`${host}: token server ${url.origin} sent something that is not JSON`);
  }
  const token = body.token || body.access_token;
  if (!token) throw new RegistryError(`${host}: token server ${url.origin} sent no token`);
  const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
  return { token, expiresAt: Date.now() + lifetime * 1000 - MARGIN_MS };
}
