/**
 * Debian's distribution registry on 127.0.0.1 for tests: a free port, storage in a temp dir, stopped on
 * teardown. Also a small fault-injecting HTTP proxy in front of it.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface Registry {
  host: string;
  dir: string;
  /** With `tls`: the CA certificate that signed the registry's. */
  caFile?: string;
  /** Where the registry keeps blob bytes, to corrupt them on purpose. */
  blobFile(digest: string): string;
  stop(): Promise<void>;
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

/**
 * `users` turns on htpasswd Basic authentication (bcrypt entries made with htpasswd -B); `tls` serves HTTPS
 * with a server certificate for 127.0.0.1 signed by a CA made here, whose certificate is `caFile`.
 */
export async function startRegistry(opts: { users?: Record<string, string>; tls?: boolean } = {}): Promise<Registry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-registry-'));
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  const lines = [
    'version: 0.1',
    'log: { level: error }',
    `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
  ];
  if (opts.tls) {
    const ssl = (cmd: string) => execFileSync('bash', ['-c', cmd], { cwd: dir, stdio: 'ignore' });
    ssl('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=hod-test-ca');
    ssl('openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1');
    ssl('openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile <(printf "subjectAltName=IP:127.0.0.1")');
    lines[lines.length - 1] = `http: { addr: 127.0.0.1:${port}, tls: { certificate: ${dir}/srv.crt, key: ${dir}/srv.key } }`;
  }
  if (opts.users) {
    const entries = Object.entries(opts.users).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
    fs.writeFileSync(path.join(dir, 'htpasswd'), entries.join('\n') + '\n');
    lines.push(`auth: { htpasswd: { realm: hod-test, path: ${dir}/htpasswd } }`);
  }
  fs.writeFileSync(config, lines.join('\n') + '\n');
  const proc: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if (opts.tls) {
        // any answer over TLS means it is up; the CA is not Node's, so only the handshake is checked here
        const up = await new Promise<boolean>((resolve) => {
          const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { s.destroy(); resolve(true); });
          s.on('error', () => resolve(false));
        });
        if (up) break;
      } else {
        const res = await fetch(`http://${host}/v2/`);
        if (res.status === 200 || res.status === 401) break;
      }
    } catch {
      // not listening yet
    }
    if (i > 100 || proc.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    dir,
    caFile: opts.tls ? path.join(dir, 'ca.crt') : undefined,
    blobFile: (digest) => {
      const hex = digest.replace('sha256:', '');
      return path.join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill();
        await new Promise((r) => proc.on('exit', r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `target`; `fault` may answer a request itself (return true) or let
 * it through, and `cut` may end a response body after that many bytes by destroying the socket.
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
