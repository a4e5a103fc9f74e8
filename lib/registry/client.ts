/**
 * An OCI distribution client on undici for one registry host: the `/v2/` ping (https, or plain http when
 * TLS verification is off and the registry does not speak TLS), Basic and Bearer authentication from the
 * registry's own challenge, tokens cached per scope, retries with backoff, and the manifest, blob and tag
 * calls. Blob downloads (Range resume) and uploads (mount, monolithic, chunked) live beside it.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Descriptor } from '../image/types.js';
import { openBlob } from './blob-download.js';
import { uploadBlob, type UploadResult } from './blob-upload.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { httpAgent, httpRequest, type Response } from './http.js';
import { parseErrorBody, redact, RegistryError } from './registry-error.js';
import { pullScope, pushScope } from './scope.js';
import { defaultTls, registryTls, type RegistryTls } from './tls.js';
import { fetchToken, scopeKey, TokenCache } from './token.js';

export { RegistryError } from './registry-error.js';
export { pullScope, pushScope } from './scope.js';
export type { UploadResult } from './blob-upload.js';

export type Credentials = { username: string; password: string } | { identityToken: string };
/** Credentials for a registry host (`host[:port]`), e.g. from auth.json; undefined: anonymous. */
export type CredentialsLookup = (registryHost: string) => Promise<Credentials | undefined>;

export interface ClientOptions {
  /** false: accept any certificate, and fall back to plain HTTP when the registry does not speak TLS. */
  tlsVerify?: boolean;
  /** The certs.d directory holding `<host[:port]>/` (`*.crt` CAs, `*.cert` + `*.key` client pairs). */
  certsDir?: string;
  getCredentials?: CredentialsLookup;
  /** `--authfile`, for the default credentials lookup of the docker transport. */
  authfile?: string;
  /** Attempts after the first on 429, 5xx and dropped connections (buildah's --retry, default 3). */
  retry?: number;
  /** First backoff in ms, doubled per attempt (buildah's --retry-delay, default 500). */
  retryDelay?: number;
  /**
   * Upload larger blobs in PATCH chunks of this many bytes, each kept in memory so that a broken one resumes.
   * Default: no chunks; a blob up to 8 MiB goes up in one PUT, a larger one streams in a single PATCH (the
   * distribution registry re-hashes everything it holds on each new PATCH, so chunks cost it quadratic time).
   */
  uploadChunkSize?: number;
}

/** A request the client signs and retries. */
export interface RegistryRequest {
  method: Dispatcher.HttpMethod;
  /** A path on the registry ("/v2/...") or an absolute URL (an upload Location on another host). */
  path: string;
  headers?: Record<string, string>;
  /** A stream is sent once: not replayed after a 401 or on a retry. */
  body?: Buffer | Readable;
  /** Token scopes this request needs ("repository:a/b:pull"). */
  scope?: string | string[];
  /** Retries for this request instead of the client's (0 for requests that must not be replayed blindly). */
  retry?: number;
  /** Follow redirects (blob downloads). */
  redirects?: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  // asked for only to say clearly that it is not supported, rather than "not found"
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
].join(', ');

/** containers/image's limit: a manifest is small, a larger answer is not one. */
const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_BACKOFF_MS = 60_000;
const TRANSIENT = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

export class RegistryClient {
  readonly retry: number;
  readonly retryDelay: number;
  /** The largest blob sent in one PUT; with `chunked`, the size of every PATCH too. */
  readonly chunkSize: number;
  readonly chunked: boolean;
  /** "https://host" or "http://host", known after the ping. */
  private base: string | undefined;
  private pinging: Promise<void> | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new TokenCache();
  private credentials: Promise<Credentials | undefined> | undefined;
  private readonly secrets: string[] = [];
  private tls: RegistryTls | undefined;
  private readonly dispatcher: Dispatcher;

  constructor(readonly host: string, private readonly opts: ClientOptions = {}) {
    this.retry = opts.retry ?? 3;
    this.retryDelay = opts.retryDelay ?? 500;
    this.chunkSize = opts.uploadChunkSize ?? 8 << 20;
    this.chunked = opts.uploadChunkSize !== undefined;
    this.dispatcher = httpAgent((origin) => ({ ...(this.isRegistry(origin) ? this.tls?.connect : defaultTls()) }));
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** `GET /v2/`: finds the scheme and the registry's challenge. Called by every operation; runs once. */
  ping(): Promise<void> {
    this.pinging ??= this.doPing().catch((err: unknown) => {
      this.pinging = undefined;
      throw redact(err, this.secrets);
    });
    return this.pinging;
  }

  private async doPing(): Promise<void> {
    this.tls = registryTls(this.host, this.opts);
    let res: Response;
    // an insecure registry is asked over plain HTTP at the same time, once: most of them speak nothing else
    const abort = new AbortController();
    const plain = this.opts.tlsVerify === false ? httpRequest(this.dispatcher, `http://${this.host}/v2/`, { signal: abort.signal }) : undefined;
    plain?.catch(() => {});
    try {
      res = await this.pingAt(`https://${this.host}`);
      this.base = `https://${this.host}`;
      abort.abort();
      await plain?.then((r) => r.body.dump()).catch(() => {});
    } catch (err) {
      if (!plain || !(err instanceof RegistryError) || err.code !== 'ECONNECT') throw this.clientCertHint(err);
      // like containers/image for an insecure registry: plain HTTP when TLS does not work at all
      try {
        const early = await plain.catch(() => undefined);
        if (early && early.statusCode < 500 && early.statusCode !== 429) res = early;
        else {
          await early?.body.dump();
          res = await this.pingAt(`http://${this.host}`);
        }
        this.base = `http://${this.host}`;
      } catch {
        throw err;
      }
    }
    await res.body.dump();
    if (res.statusCode === 401) this.challenge = pickChallenge(res.headers['www-authenticate']);
    else if (res.statusCode !== 200) {
      throw new RegistryError(`${this.host}: GET /v2/ answered ${res.statusCode}: not a registry (or not the v2 API)`, { status: res.statusCode });
    }
  }

  /**
   * A registry that demands a client certificate closes the connection during or right after the handshake,
   * which says nothing by itself: name where the certificate would go.
   */
  private clientCertHint(err: unknown): unknown {
    const dir = this.tls?.noClientCertIn;
    if (dir && err instanceof RegistryError && err.code === 'ECONNECT' && /other side closed|ECONNRESET|socket hang up|certificate required/i.test(err.message)) {
      err.message += ` (if it demands a client certificate, put client.cert and client.key in ${dir}/)`;
    }
    return err;
  }

  private async pingAt(base: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await httpRequest(this.dispatcher, `${base}/v2/`);
        if ((res.statusCode === 429 || res.statusCode >= 500) && attempt < this.retry) {
          const after = retryAfterMs(res.headers['retry-after']);
          await res.body.dump();
          await this.backoff(attempt, after);
          continue;
        }
        return res;
      } catch (err) {
        const e = connectError(this.host, err, this.opts.certsDir);
        if (e.retryable && attempt < this.retry) {
          await this.backoff(attempt);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * A signed request, retried with backoff on 429, 5xx and dropped connections, and sent again once after a
   * 401 with a fresh token (or the challenge the 401 brought). Statuses outside `ok` become RegistryErrors.
   */
  async send(req: RegistryRequest, ok: number[]): Promise<Response> {
    await this.ping();
    const retry = req.retry ?? this.retry;
    const scopes = req.scope === undefined ? [] : [req.scope].flat();
    let reauthenticated = false;
    for (let attempt = 0; ; ) {
      let res: Response;
      try {
        const url = this.url(req.path);
        const auth = this.isRegistry(new URL(url).origin) ? await this.authorization(scopes) : {};
        res = await httpRequest(this.dispatcher, url, { method: req.method, headers: { ...req.headers, ...auth }, body: req.body, redirects: req.redirects });
      } catch (err) {
        const e = err instanceof RegistryError ? err : connectError(this.host, err, this.opts.certsDir);
        if (e.retryable && attempt < retry) {
          await this.backoff(attempt++);
          continue;
        }
        throw redact(e, this.secrets);
      }
      if (res.statusCode === 401 && !reauthenticated && !(req.body && !Buffer.isBuffer(req.body))) {
        reauthenticated = true;
        await res.body.dump();
        this.challenge = pickChallenge(res.headers['www-authenticate']) ?? this.challenge;
        this.tokens.forget(scopeKey(scopes));
        continue;
      }
      if ((res.statusCode === 429 || res.statusCode >= 500) && attempt < retry) {
        const after = retryAfterMs(res.headers['retry-after']);
        await res.body.dump();
        await this.backoff(attempt++, after);
        continue;
      }
      if (!ok.includes(res.statusCode)) throw redact(await this.statusError(req, res, scopes), this.secrets);
      return res;
    }
  }

  /** Wait before attempt `attempt + 1`: retryDelay doubled per attempt, or what Retry-After asked. */
  backoff(attempt: number, retryAfter?: number): Promise<void> {
    const ms = Math.min(retryAfter ?? this.retryDelay * 2 ** attempt, MAX_BACKOFF_MS);
    return new Promise((r) => setTimeout(r, ms));
  }

  /** Whether an error is worth another attempt: a dropped connection, 429 or 5xx. */
  isRetryable(err: unknown): boolean {
    return err instanceof RegistryError ? err.retryable : TRANSIENT.has(errorCode(err));
  }

  /** `err` without any credential of this client in its message. */
  redact<E>(err: E): E {
    return redact(err, this.secrets);
  }

  /**
   * Check the credentials `getCredentials` gives against the registry, as `hod login` must before saving
   * them: Basic on /v2/, or a token from the Bearer realm.
   */
  async checkLogin(): Promise<void> {
    await this.ping();
    if (!this.challenge) return;
    const res = await this.send({ method: 'GET', path: '/v2/' }, [200]);
    await res.body.dump();
  }

  /** A manifest or index by tag or digest, exactly as stored. Docker schema 1 is refused by name. */
  async getManifest(repo: string, ref: string): Promise<{ bytes: Buffer; mediaType: string; digest?: string }> {
    const res = await this.send({ method: 'GET', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: MANIFEST_ACCEPT }, scope: pullScope(repo) }, [200]);
    const name = `${this.host}/${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `${name}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    let parsed: { schemaVersion?: number; mediaType?: string; manifests?: unknown };
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
    } catch {
      throw new RegistryError(`${name}: the registry sent a manifest that is not JSON`);
    }
    const header = String(res.headers['content-type'] ?? '').split(';')[0].trim();
    if (header.startsWith('application/vnd.docker.distribution.manifest.v1') || parsed.schemaVersion === 1) {
      throw new RegistryError(`${name} is a Docker schema 1 manifest, which hod does not support: push it again with a current tool`);
    }
    const mediaType = GENERIC_TYPES.has(header) ? parsed.mediaType ?? (parsed.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json') : header;
    const digest = res.headers['docker-content-digest'];
    return { bytes, mediaType, digest: typeof digest === 'string' ? digest : undefined };
  }

  /** The digest of the manifest `ref` names (HEAD), or undefined when there is none. */
  async manifestDigest(repo: string, ref: string, push = false): Promise<string | undefined> {
    const res = await this.send({ method: 'HEAD', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: MANIFEST_ACCEPT }, scope: push ? pushScope(repo) : pullScope(repo) }, [200, 404]);
    await res.body.dump();
    const d = res.headers['docker-content-digest'];
    return res.statusCode === 200 && typeof d === 'string' ? d : undefined;
  }

  /** Store a manifest under a tag or its digest; the registry checks what it refers to. Returns its digest. */
  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<string | undefined> {
    const res = await this.send({ method: 'PUT', path: `/v2/${repo}/manifests/${ref}`, headers: { 'content-type': mediaType }, body: bytes, scope: pushScope(repo) }, [200, 201, 202]);
    await res.body.dump();
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : undefined;
  }

  /** Whether the repository has the blob (HEAD). `push`: ask with the push scope a push already holds. */
  async hasBlob(repo: string, digest: string, push = false): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scope: push ? pushScope(repo) : pullScope(repo) }, [200, 404]);
    await res.body.dump();
    return res.statusCode === 200;
  }

  /**
   * A blob's bytes, unverified (the caller hashes them). A download broken mid-body resumes with
   * `Range: bytes=N-`; `size` lets a clean but early end count as broken too.
   */
  blob(repo: string, digest: string, size?: number): Promise<Readable> {
    return openBlob(this, repo, digest, size);
  }

  /**
   * Upload a blob: a cross-repository mount from the first of `mountFrom` that has it, else one PUT for a blob
   * up to the chunk size, else one streamed PATCH (or PATCH chunks with `uploadChunkSize`), closed by a PUT
   * with the digest, which the registry checks.
   */
  uploadBlob(repo: string, desc: Descriptor, data: Readable, mountFrom: string[] = []): Promise<UploadResult> {
    return uploadBlob(this, repo, desc, data, mountFrom);
  }

  /** Every tag of a repository, following the registry's `Link` pages. */
  async tags(repo: string, pageSize?: number): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list${pageSize ? `?n=${pageSize}` : ''}`;
    while (path) {
      const res = await this.send({ method: 'GET', path, scope: pullScope(repo) }, [200]);
      out.push(...(((await res.body.json()) as { tags?: string[] | null }).tags ?? []));
      path = nextLink(res.headers.link);
    }
    return out;
  }

  /** An upload Location (relative or absolute) as a request path: relative when it is on the registry. */
  location(res: Response): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError(`${this.host}: upload answered ${res.statusCode} without a Location`);
    const u = new URL(String(loc), this.base);
    return this.isRegistry(u.origin) ? u.pathname + u.search : u.href;
  }

  private url(p: string): string {
    return /^https?:\/\//.test(p) ? p : `${this.base}${p}`;
  }

  /** The registry's own origin, which alone gets its credentials and its certs.d settings. */
  private isRegistry(origin: string): boolean {
    const u = new URL(origin);
    return u.host === this.host || `${u.hostname}:${u.port || (u.protocol === 'https:' ? 443 : 80)}` === this.host;
  }

  private lookupCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= (this.opts.getCredentials?.(this.host) ?? Promise.resolve(undefined)).then((c) => {
      if (c && 'password' in c) this.secrets.push(c.password);
      if (c && 'identityToken' in c) this.secrets.push(c.identityToken);
      return c;
    });
    return this.credentials;
  }

  private async authorization(scopes: string[]): Promise<Record<string, string>> {
    const ch = this.challenge;
    if (!ch) return {};
    const creds = await this.lookupCredentials();
    if (ch.scheme === 'basic') {
      if (!creds || !('username' in creds)) return {};
      return { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` };
    }
    if (ch.scheme !== 'bearer') return {};
    const token = await this.tokens.get(scopeKey(scopes), async () => {
      const t = await fetchToken(this.dispatcher, this.host, ch, scopes, creds);
      this.secrets.push(t.token);
      return t;
    });
    return { authorization: `Bearer ${token}` };
  }

  private async statusError(req: RegistryRequest, res: Response, scopes: string[]): Promise<RegistryError> {
    const status = res.statusCode;
    const { codes, detail } = parseErrorBody(await res.body.text().catch(() => ''));
    const where = `${req.method} ${this.host}${new URL(this.url(req.path)).pathname}`;
    const tail = detail ? ` (${detail})` : '';
    if (status === 401) {
      const creds = await this.lookupCredentials();
      const ch = pickChallenge(res.headers['www-authenticate']);
      let why: string;
      if (ch?.params.error === 'insufficient_scope' || (creds && this.challenge?.scheme === 'bearer')) why = `access to ${scopes.join(' ') || 'the registry'} denied`;
      else if (!creds) why = `authentication required: log in to ${this.host} first`;
      else why = `authentication failed: invalid username/password${'username' in creds ? ` for user "${creds.username}"` : ''}`;
      return new RegistryError(`${where}: unauthorized: ${why}${tail}`, { code: 'EAUTH', status, codes });
    }
    if (status === 403) return new RegistryError(`${where}: denied${tail}`, { code: 'EAUTH', status, codes });
    const what = status === 404 ? 'not found' : `status ${status}`;
    return new RegistryError(`${where}: ${what}${detail ? `: ${detail}` : ''}`, { status, codes, retryable: status === 429 || status >= 500 });
  }
}

/** Content types that say nothing about which manifest this is. */
const GENERIC_TYPES = new Set(['', 'application/json', 'text/plain', 'application/octet-stream']);

function pickChallenge(header: string | string[] | undefined): Challenge | undefined {
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

/** The error's code, or its cause's when that says more (undici wraps socket errors). */
function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  const own = e?.code ?? '';
  const cause = e?.cause?.code ?? '';
  return TRANSIENT.has(own) || !cause ? own : cause;
}

const TLS_VERIFY_RE = /certificate|self.signed|issuer|CERT_|ERR_TLS_CERT/i;
const NOT_TLS_RE = /wrong version number|packet length too long|EPROTO|unknown protocol/i;

/** A RegistryError (ECONNECT) for a request that got no answer, saying what to do where we can. */
export function connectError(host: string, err: unknown, certsDir?: string): RegistryError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const msg = e.cause instanceof Error ? e.cause.message : e.message;
  const code = errorCode(err);
  if (NOT_TLS_RE.test(msg) || NOT_TLS_RE.test(code)) {
    return new RegistryError(`cannot reach registry ${host}: it does not speak TLS (a plain HTTP registry? use --tls-verify=false)`, { code: 'ECONNECT', cause: err });
  }
  if (TLS_VERIFY_RE.test(msg) || TLS_VERIFY_RE.test(code)) {
    const dir = `${certsDir ?? '/etc/containers/certs.d'}/${host}/`;
    return new RegistryError(`cannot reach registry ${host}: ${msg}: put the CA that signed it in ${dir} (or use --tls-verify=false)`, { code: 'ECONNECT', cause: err });
  }
  return new RegistryError(`cannot reach registry ${host}: ${msg || code}`, { code: 'ECONNECT', cause: err, retryable: TRANSIENT.has(code) });
}

/** Retry-After as ms (delta seconds or an HTTP date), or undefined. */
function retryAfterMs(h: string | string[] | undefined): number | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** The target of `Link: <...>; rel="next"`. */
function nextLink(h: string | string[] | undefined): string | undefined {
  for (const part of [h ?? []].flat().join(',').split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

async function readLimited(res: Response, max: number, tooBig: string): Promise<Buffer> {
  if (Number(res.headers['content-length'] ?? 0) > max) {
    res.body.destroy();
    throw new RegistryError(tooBig);
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      throw new RegistryError(tooBig);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}
