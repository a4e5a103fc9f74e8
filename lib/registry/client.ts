/**
 * An OCI distribution client on undici: ping, Basic and Bearer authentication from the registry's own
 * challenge, tokens cached per scope, retries with backoff, blob downloads that resume with Range, and the
 * upload protocol (cross-repository mount, monolithic and streamed uploads).
 */
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { httpAgent, httpRequest as request, type Response } from './http.js';
import { HodError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import { parseChallenges, type Challenge } from './challenge.js';

export type Credentials = { username: string; password: string } | { identityToken: string };
export type CredentialsLookup = (host: string) => Promise<Credentials | undefined>;

export interface ClientOptions {
  /** false: accept any certificate and fall back to plain HTTP when the registry does not speak TLS. */
  tlsVerify?: boolean;
  /** Where `<host[:port]>/` holds extra CAs (`*.crt`) and client pairs (`*.cert` + `*.key`). */
  certsDir?: string;
  getCredentials?: CredentialsLookup;
  /** `--authfile`, for the default credentials lookup of the docker transport. */
  authfile?: string;
  /** Attempts after the first for 429, 5xx and dropped connections (buildah's --retry, default 3). */
  retry?: number;
  /** First backoff in ms, doubled per attempt (default 500). */
  retryDelay?: number;
}

export class RegistryError extends HodError {
  constructor(message: string, readonly status?: number) {
    super('EREGISTRY', message);
  }
}

/** Blobs up to this size go up in one PUT; larger ones stream through PATCH. */
const MONOLITHIC_MAX = 8 << 20;
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
].join(', ');

interface Req {
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Token scope this request needs, e.g. "repository:a/b:pull". */
  scope?: string;
}

const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class RegistryClient {
  private base: string | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly tokens = new Map<string, string>();
  private challenge: Challenge | undefined;
  private readonly retry: number;
  private readonly retryDelay: number;

  constructor(readonly host: string, private readonly opts: ClientOptions = {}) {
    this.retry = opts.retry ?? 3;
    this.retryDelay = opts.retryDelay ?? 500;
    this.dispatcher = httpAgent(tlsOptions(host, opts));
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** `GET /v2/`: finds the scheme (https, or http when TLS is off and the registry is plain) and the challenge. */
  async ping(): Promise<void> {
    if (this.base) return;
    const https = `https://${this.host}`;
    let res: Response;
    try {
      res = await request(this.dispatcher, `${https}/v2/`);
      this.base = https;
    } catch (err) {
      if (this.opts.tlsVerify !== false) throw connectError(this.host, err);
      try {
        res = await request(this.dispatcher, `http://${this.host}/v2/`);
        this.base = `http://${this.host}`;
      } catch (err2) {
        throw connectError(this.host, err2);
      }
    }
    await res.body.dump();
    if (res.statusCode === 401) this.challenge = pickChallenge(res.headers['www-authenticate']);
    else if (res.statusCode !== 200) throw new RegistryError(`${this.host}: GET /v2/ answered ${res.statusCode}`, res.statusCode);
  }

  /** A request with authentication and retries. Statuses other than `ok` become RegistryErrors. */
  async send(req: Req, ok: number[]): Promise<Response> {
    await this.ping();
    const replayable = !(req.body instanceof Readable);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await request(this.dispatcher, this.url(req.path), {
          method: req.method,
          headers: { ...req.headers, ...(await this.authorization(req.scope)) },
          body: req.body,
        });
      } catch (err) {
        if (replayable && attempt < this.retry && TRANSIENT.has((err as NodeJS.ErrnoException).code ?? '')) {
          await sleep(this.retryDelay * 2 ** attempt);
          continue;
        }
        throw connectError(this.host, err);
      }
      if (res.statusCode === 401 && attempt === 0 && replayable) {
        await res.body.dump();
        this.challenge = pickChallenge(res.headers['www-authenticate']) ?? this.challenge;
        if (req.scope) this.tokens.delete(req.scope);
        continue;
      }
      if ((res.statusCode === 429 || res.statusCode >= 500) && replayable && attempt < this.retry) {
        await res.body.dump();
        await sleep(this.retryDelay * 2 ** attempt);
        continue;
      }
      if (!ok.includes(res.statusCode)) throw await statusError(req, res, this.host);
      return res;
    }
  }

  /**
   * Check the credentials `getCredentials` gives against the registry, as `hod login` must before saving
   * them: Basic on /v2/, or a token from the Bearer realm.
   */
  async checkLogin(): Promise<void> {
    await this.ping();
    const ch = this.challenge;
    if (!ch) return;
    if (ch.scheme === 'bearer') {
      await this.fetchToken(ch, undefined);
      return;
    }
    const res = await request(this.dispatcher, `${this.base}/v2/`, { headers: await this.authorization(undefined) });
    await res.body.dump();
    if (res.statusCode === 401) throw new RegistryError(`${this.host}: authentication failed: invalid username/password`, 401);
    if (res.statusCode !== 200) throw new RegistryError(`${this.host}: GET /v2/ answered ${res.statusCode}`, res.statusCode);
  }

  async getManifest(repo: string, ref: string): Promise<{ bytes: Buffer; mediaType: string; digest?: string }> {
    const res = await this.send({ method: 'GET', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: MANIFEST_ACCEPT }, scope: pullScope(repo) }, [200]);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0].trim() || sniffMediaType(bytes);
    if (mediaType.startsWith('application/vnd.docker.distribution.manifest.v1') || (JSON.parse(bytes.toString()) as { schemaVersion?: number }).schemaVersion === 1) {
      throw new RegistryError(`${this.host}/${repo}:${ref} is a Docker schema 1 manifest, which hod does not support: push it again with a current tool`);
    }
    const digest = res.headers['docker-content-digest'];
    return { bytes, mediaType, digest: typeof digest === 'string' ? digest : undefined };
  }

  /** The digest of the manifest a tag points at (HEAD), or undefined when there is none. */
  async manifestDigest(repo: string, ref: string): Promise<string | undefined> {
    const res = await this.send({ method: 'HEAD', path: `/v2/${repo}/manifests/${ref}`, headers: { accept: MANIFEST_ACCEPT }, scope: pushScope(repo) }, [200, 404]);
    await res.body.dump();
    const d = res.headers['docker-content-digest'];
    return res.statusCode === 200 && typeof d === 'string' ? d : undefined;
  }

  async putManifest(repo: string, ref: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.send({ method: 'PUT', path: `/v2/${repo}/manifests/${ref}`, headers: { 'content-type': mediaType }, body: bytes, scope: pushScope(repo) }, [201, 200, 202]);
    await res.body.dump();
  }

  async hasBlob(repo: string, digest: string, push = false): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, scope: push ? pushScope(repo) : pullScope(repo) }, [200, 404]);
    await res.body.dump();
    return res.statusCode === 200;
  }

  /**
   * A blob's bytes. A connection that breaks mid-body is picked up again with `Range: bytes=N-` (from the
   * start if the server ignores Range) up to `retry` times.
   */
  blob(repo: string, digest: string): Readable {
    const self = this;
    async function* body(): AsyncGenerator<Buffer> {
      let received = 0;
      for (let attempt = 0; ; attempt++) {
        const headers: Record<string, string> = received ? { range: `bytes=${received}-` } : {};
        const res = await self.send({ method: 'GET', path: `/v2/${repo}/blobs/${digest}`, headers, scope: pullScope(repo) }, [200, 206]);
        let skip = received && res.statusCode === 200 ? received : 0; // Range ignored: drop what we have
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            if (skip) {
              if (chunk.length <= skip) {
                skip -= chunk.length;
                continue;
              }
              const rest = chunk.subarray(skip);
              skip = 0;
              received += rest.length;
              yield rest;
              continue;
            }
            received += chunk.length;
            yield chunk;
          }
          return;
        } catch (err) {
          if (attempt >= self.retry) throw new RegistryError(`downloading ${digest} from ${self.host}/${repo}: ${(err as Error).message}`);
          await sleep(self.retryDelay * 2 ** attempt);
        }
      }
    }
    return Readable.from(body(), { objectMode: false });
  }

  /**
   * Upload a blob: a cross-repository mount when one of `mountFrom` has it (201), else a monolithic PUT for
   * small blobs or a streamed PATCH for large ones, closed by a PUT with the digest.
   */
  async uploadBlob(repo: string, desc: Descriptor, data: Readable, mountFrom: string[] = []): Promise<'mounted' | 'uploaded'> {
    for (const from of mountFrom) {
      const q = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
      const res = await this.send({ method: 'POST', path: `/v2/${repo}/blobs/uploads/${q}`, scope: `${pushScope(repo)} repository:${from}:pull` }, [201, 202]);
      await res.body.dump();
      if (res.statusCode === 201) {
        data.destroy();
        return 'mounted';
      }
      await this.cancel(res);
    }
    const start = await this.send({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, scope: pushScope(repo) }, [202]);
    await start.body.dump();
    let location = this.location(start);
    if (desc.size <= MONOLITHIC_MAX) {
      const bytes = await collect(data);
      const put = await this.send({ method: 'PUT', path: withQuery(location, 'digest', desc.digest), headers: { 'content-type': 'application/octet-stream' }, body: bytes, scope: pushScope(repo) }, [201]);
      await put.body.dump();
      return 'uploaded';
    }
    const patch = await this.send({ method: 'PATCH', path: location, headers: { 'content-type': 'application/octet-stream' }, body: data, scope: pushScope(repo) }, [202]);
    await patch.body.dump();
    location = this.location(patch);
    const put = await this.send({ method: 'PUT', path: withQuery(location, 'digest', desc.digest), scope: pushScope(repo) }, [201]);
    await put.body.dump();
    return 'uploaded';
  }

  async tags(repo: string): Promise<string[]> {
    const res = await this.send({ method: 'GET', path: `/v2/${repo}/tags/list`, scope: pullScope(repo) }, [200]);
    return ((await res.body.json()) as { tags?: string[] | null }).tags ?? [];
  }

  private async cancel(res: Response): Promise<void> {
    const loc = res.headers.location;
    if (!loc) return;
    try {
      const del = await request(this.dispatcher, this.url(String(loc)), { method: 'DELETE', headers: await this.authorization(undefined) });
      await del.body.dump();
    } catch {
      // an abandoned upload session expires by itself
    }
  }

  private location(res: Response): string {
    const loc = res.headers.location;
    if (!loc) throw new RegistryError(`${this.host}: upload answered ${res.statusCode} without a Location`);
    const u = new URL(String(loc), this.base);
    return u.origin === new URL(this.base!).origin ? u.pathname + u.search : u.href;
  }

  private url(p: string): string {
    return /^https?:\/\//.test(p) ? p : `${this.base}${p}`;
  }

  private async authorization(scope: string | undefined): Promise<Record<string, string>> {
    const ch = this.challenge;
    if (!ch) return {};
    if (ch.scheme === 'basic') {
      const c = await this.opts.getCredentials?.(this.host);
      if (!c || !('username' in c)) return {};
      return { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` };
    }
    if (ch.scheme !== 'bearer') return {};
    const key = scope ?? '';
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(ch, scope);
      this.tokens.set(key, token);
    }
    return { authorization: `Bearer ${token}` };
  }

  private async fetchToken(ch: Challenge, scope: string | undefined): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError(`${this.host}: Bearer challenge without a realm`);
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    for (const s of (scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const creds = await this.opts.getCredentials?.(this.host);
    let res: Response;
    if (creds && 'identityToken' in creds) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'hod', service: ch.params.service ?? '' });
      if (scope) form.set('scope', scope);
      res = await request(this.dispatcher, realm, { method: 'POST', body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    } else {
      const headers: Record<string, string> = creds ? { authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
      res = await request(this.dispatcher, url, { headers });
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await res.body.dump();
      throw new RegistryError(`${this.host}: authentication failed${creds && 'username' in creds ? ` for user "${creds.username}"` : ''}: invalid username/password`, res.statusCode);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new RegistryError(`${this.host}: token server ${url.origin} answered ${res.statusCode}`, res.statusCode);
    }
    const body = (await res.body.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${this.host}: token server sent no token`);
    return token;
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function pickChallenge(header: string | string[] | undefined): Challenge | undefined {
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

function tlsOptions(host: string, opts: ClientOptions): Record<string, unknown> {
  if (opts.tlsVerify === false) return { rejectUnauthorized: false };
  const dir = path.join(opts.certsDir ?? '/etc/containers/certs.d', host);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return {};
  }
  const read = (n: string) => fs.readFileSync(path.join(dir, n), 'utf8');
  const cas = names.filter((n) => n.endsWith('.crt')).map(read);
  const out: Record<string, unknown> = {};
  if (cas.length) out.ca = [...tls.rootCertificates, ...cas];
  const cert = names.find((n) => n.endsWith('.cert'));
  if (cert) {
    const key = cert.replace(/\.cert$/, '.key');
    if (!names.includes(key)) throw new RegistryError(`${dir}: client certificate ${cert} has no ${key}`);
    out.cert = read(cert);
    out.key = read(key);
  }
  return out;
}

function connectError(host: string, err: unknown): RegistryError {
  const e = err as NodeJS.ErrnoException;
  const msg = e.cause instanceof Error ? e.cause.message : e.message;
  if (/wrong version number|packet length too long|EPROTO/i.test(msg)) {
    return new RegistryError(`cannot reach registry ${host}: it does not speak TLS (a plain HTTP registry? use --tls-verify=false)`);
  }
  return new RegistryError(`cannot reach registry ${host}: ${msg}`);
}

async function statusError(req: Req, res: Response, host: string): Promise<RegistryError> {
  let detail = '';
  try {
    const text = await res.body.text();
    const errs = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    if (errs?.length) detail = `: ${errs.map((e) => [e.code, e.message].filter(Boolean).join(' ')).join('; ')}`;
  } catch {
    // not JSON: the status says enough
  }
  const what = res.statusCode === 401 ? 'unauthorized' : res.statusCode === 404 ? 'not found' : `status ${res.statusCode}`;
  return new RegistryError(`${req.method} ${host}${req.path.split('?')[0]}: ${what}${detail}`, res.statusCode);
}

function sniffMediaType(bytes: Buffer): string {
  try {
    const m = JSON.parse(bytes.toString()) as { mediaType?: string; manifests?: unknown };
    return m.mediaType ?? (m.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json');
  } catch {
    return '';
  }
}

function withQuery(loc: string, key: string, value: string): string {
  return `${loc}${loc.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

async function collect(data: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of data) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
