/**
 * Debian's distribution registry (/usr/bin/docker-registry) on 127.0.0.1 for tests, in four set-ups that
 * combine freely: plain HTTP; TLS with a CA made here by openssl (trusted through a temporary certs.d, and
 * optionally demanding a client certificate); htpasswd Basic auth (bcrypt entries from `htpasswd -B`); Bearer
 * token auth with a token server (token-server.ts, its own process) whose signing certificate the registry
 * trusts. Also a fault-injecting HTTP proxy and a bare HTTP server to put in front of it or beside it.
 *
 * Every process started here is stopped by `stop()`, and killed when the test process exits regardless.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TokenRequest, TokenServerConfig } from './token-server.js';

export type { TokenRequest } from './token-server.js';

export interface RegistryOptions {
  /** Serve HTTPS with a certificate for 127.0.0.1 signed by a CA made for this registry. */
  tls?: boolean;
  /** With `tls`: demand a client certificate signed by the same CA (put in certsDir as client.cert/.key). */
  clientCerts?: boolean;
  /** 'htpasswd': Basic auth; 'token': Bearer tokens. `users` alone implies 'htpasswd'. */
  auth?: 'htpasswd' | 'token';
  /** user -> password. */
  users?: Record<string, string>;
  /** Token auth: what a caller without credentials may do (default 'pull', as Docker Hub). */
  anonymous?: 'pull' | 'none';
  /** Token auth: identity token -> user, accepted by the OAuth2 refresh_token grant. */
  identityTokens?: Record<string, string>;
  /** Token auth: seconds a token lives (default 300). */
  tokenLifetime?: number;
  /** Token auth: the lifetime the token server claims (default: the real one); longer makes clients hold dead tokens. */
  tokenExpiresIn?: number;
}

export interface Registry {
  /** "127.0.0.1:PORT", as a reference names it. */
  host: string;
  /** "http://127.0.0.1:PORT" or "https://...". */
  url: string;
  /** Temp dir holding config, storage and certificates; removed by stop(). */
  dir: string;
  auth?: 'htpasswd' | 'token';
  users: Record<string, string>;
  /** With `tls`: the CA certificate that signed the registry's (and the client's). */
  caFile?: string;
  /** With `tls`: a certs.d directory whose `<host>/` holds ca.crt (and client.cert/client.key). */
  certsDir?: string;
  /** With token auth: "http://127.0.0.1:PORT/token". */
  realm?: string;
  /** With token auth: every request the token server answered so far, oldest first. */
  tokenRequests(): TokenRequest[];
  /** Where the registry keeps blob bytes, to corrupt them on purpose. */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/** Track a child so it dies with this process, however the tests end. */
function track(p: ChildProcess): void {
  live.add(p);
  p.once('exit', () => live.delete(p));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

async function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function sh(dir: string, cmd: string): void {
  execFileSync('bash', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

/** A CA, a server certificate for 127.0.0.1 and localhost, and with `client` a client certificate. */
function makeCertificates(dir: string, client: boolean): void {
  sh(dir, `openssl req -x509 ${EC} -keyout ca.key -out ca.crt -days 2 -subj /CN=hod-test-ca`);
  sh(dir, `openssl req ${EC} -keyout srv.key -out srv.csr -subj /CN=127.0.0.1`);
  sh(dir, 'openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile <(printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth")');
  if (client) {
    sh(dir, `openssl req ${EC} -keyout client.key -out client.csr -subj /CN=hod-test-client`);
    sh(dir, 'openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.cert -days 2 -extfile <(printf "extendedKeyUsage=clientAuth")');
  }
}

async function startTokenServer(dir: string, opts: RegistryOptions, users: Record<string, string>): Promise<{ proc: ChildProcess; port: number; cfg: TokenServerConfig }> {
  sh(dir, `openssl req -x509 ${EC} -keyout token.key -out token.crt -days 2 -subj /CN=hod-test-token-issuer`);
  const cfg: TokenServerConfig = {
    keyFile: path.join(dir, 'token.key'),
    certFile: path.join(dir, 'token.crt'),
    issuer: 'hod-test-issuer',
    service: 'hod-test-registry',
    users,
    identityTokens: opts.identityTokens ?? {},
    anonymous: opts.anonymous ?? 'pull',
    logFile: path.join(dir, 'token-requests.jsonl'),
    lifetime: opts.tokenLifetime ?? 300,
    expiresIn: opts.tokenExpiresIn ?? opts.tokenLifetime ?? 300,
  };
  fs.writeFileSync(path.join(dir, 'token-server.json'), JSON.stringify(cfg));
  fs.writeFileSync(cfg.logFile, '');
  const script = fileURLToPath(new URL('./token-server.js', import.meta.url));
  const proc = spawn(process.execPath, [script, path.join(dir, 'token-server.json')], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(proc);
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /PORT (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`token server exited ${code}: ${err}`)));
  });
  return { proc, port, cfg };
}

/** GET /v2/ until the registry answers (200 or 401). */
async function waitReady(url: string, proc: ChildProcess, stderr: () => string, tlsFiles?: { ca: string; cert?: string; key?: string }): Promise<void> {
  const agentOpts = tlsFiles ? { ca: fs.readFileSync(tlsFiles.ca), cert: tlsFiles.cert && fs.readFileSync(tlsFiles.cert), key: tlsFiles.key && fs.readFileSync(tlsFiles.key) } : {};
  for (let i = 0; ; i++) {
    const status = await new Promise<number>((resolve) => {
      const req = (tlsFiles ? https : http).get(`${url}/v2/`, agentOpts, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) return;
    if (i > 200 || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const auth = opts.auth ?? (opts.users ? 'htpasswd' : undefined);
  const users = opts.users ?? {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-registry-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) await kill(c);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const scheme = opts.tls ? 'https' : 'http';
    const httpConf = [`addr: 127.0.0.1:${port}`];
    const lines = [
      'version: 0.1',
      'log: { level: error, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
    ];
    let certsDir: string | undefined;
    if (opts.tls) {
      makeCertificates(dir, !!opts.clientCerts);
      const clientCAs = opts.clientCerts ? `, clientcas: [${dir}/ca.crt]` : '';
      httpConf.push(`tls: { certificate: ${dir}/srv.crt, key: ${dir}/srv.key${clientCAs} }`);
      certsDir = path.join(dir, 'certs.d');
      fs.mkdirSync(path.join(certsDir, host), { recursive: true });
      fs.copyFileSync(path.join(dir, 'ca.crt'), path.join(certsDir, host, 'ca.crt'));
      if (opts.clientCerts) {
        fs.copyFileSync(path.join(dir, 'client.cert'), path.join(certsDir, host, 'client.cert'));
        fs.copyFileSync(path.join(dir, 'client.key'), path.join(certsDir, host, 'client.key'));
      }
    }
    lines.push(`http: { ${httpConf.join(', ')} }`);
    let realm: string | undefined;
    let tokenLog: string | undefined;
    if (auth === 'htpasswd') {
      const entries = Object.entries(users).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
      fs.writeFileSync(path.join(dir, 'htpasswd'), entries.join('\n') + '\n');
      lines.push(`auth: { htpasswd: { realm: hod-test, path: ${dir}/htpasswd } }`);
    } else if (auth === 'token') {
      const ts = await startTokenServer(dir, opts, users);
      children.push(ts.proc);
      realm = `http://127.0.0.1:${ts.port}/token`;
      tokenLog = ts.cfg.logFile;
      lines.push(`auth: { token: { realm: "${realm}", service: ${ts.cfg.service}, issuer: ${ts.cfg.issuer}, rootcertbundle: ${ts.cfg.certFile} } }`);
    }
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(config, lines.join('\n') + '\n');
    const proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(proc);
    children.push(proc);
    let stderr = '';
    proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const url = `${scheme}://${host}`;
    const tlsFiles = opts.tls
      ? { ca: path.join(dir, 'ca.crt'), ...(opts.clientCerts ? { cert: path.join(dir, 'client.cert'), key: path.join(dir, 'client.key') } : {}) }
      : undefined;
    await waitReady(url, proc, () => stderr, tlsFiles);
    return {
      host,
      url,
      dir,
      auth,
      users,
      caFile: opts.tls ? path.join(dir, 'ca.crt') : undefined,
      certsDir,
      realm,
      tokenRequests: () =>
        tokenLog && fs.existsSync(tokenLog)
          ? fs.readFileSync(tokenLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TokenRequest)
          : [],
      blobFile: (digest) => {
        const hex = digest.replace('sha256:', '');
        return path.join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A plain HTTP server on 127.0.0.1 running `handler`; `requests` logs "METHOD url". */
export async function startHttpServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ host: string; url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a plain-HTTP `target` (host:port). `fault` may answer a request
 * itself (return true) or let it through (it may edit `req.headers` first); `cut` may end a response body
 * after that many bytes by destroying the socket. `requests` logs "METHOD url [range]".
 */
export async function startProxy(
  target: string,
  hooks: { fault?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean; cut?: (req: http.IncomingMessage) => number | undefined },
): Promise<{ host: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.range ?? ''}`.trim());
    if (hooks.fault?.(req, res)) return;
    const [h, p] = target.split(':');
    const up = http.request({ host: h, port: Number(p), method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const limit = hooks.cut?.(req);
      if (limit === undefined) return void upRes.pipe(res);
      let sent = 0;
      upRes.on('data', (chunk: Buffer) => {
        if (sent + chunk.length >= limit) {
          res.write(chunk.subarray(0, limit - sent));
          res.socket?.destroy();
          upRes.destroy();
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Proxy hooks that drop the connection of the first PATCH once `bytes` of its body have come (a broken upload). */
export function breakFirstPatch(bytes: number): { fault: (req: http.IncomingMessage) => boolean; broke: () => boolean } {
  let broke = false;
  return {
    broke: () => broke,
    fault: (req) => {
      if (req.method !== 'PATCH' || broke) return false;
      broke = true;
      let got = 0;
      req.on('data', (b: Buffer) => {
        got += b.length;
        if (got > bytes) req.socket.destroy();
      });
      return true;
    },
  };
}
