/**
 * A Docker token server for the test registry (the protocol of docs/spec/auth/token.md), run as its own
 * process by server.ts so that tests which block their event loop (spawnSync of bin/hod) still get answers.
 *
 * GET /token?service=&scope=...  (Basic credentials or none) and POST /token (OAuth2 password and
 * refresh_token grants) answer a JWT signed ES256 with the key whose certificate the registry trusts
 * (`rootcertbundle`), carried in the `x5c` header. Users get every action they ask for; anonymous callers
 * get `pull` when `anonymous` is "pull", nothing otherwise. Wrong credentials get 401. Each request is
 * appended to `logFile` as a JSON line, so tests can see which scopes a client asked for.
 *
 * Usage: node token-server.js CONFIG.json; prints "PORT <n>" once listening; exits when stdin closes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TokenServerConfig {
  keyFile: string;
  certFile: string;
  issuer: string;
  service: string;
  users: Record<string, string>;
  /** identity token -> user, for the refresh_token grant. */
  identityTokens: Record<string, string>;
  anonymous: 'pull' | 'none';
  logFile: string;
  /** Seconds a token lives (its `exp`). */
  lifetime: number;
  /** Seconds the answer says it lives (`expires_in`); a larger value than `lifetime` makes clients use dead tokens. */
  expiresIn: number;
}

export interface TokenRequest {
  method: string;
  account: string | null;
  scopes: string[];
  grant?: string;
  status: number;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

function sign(cfg: TokenServerConfig, key: crypto.KeyObject, x5c: string, sub: string, access: { type: string; name: string; actions: string[] }[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [x5c] };
  const claims = { iss: cfg.issuer, sub, aud: cfg.service, exp: now + cfg.lifetime, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

/** "repository:a/b:pull,push" -> its parts; a name may itself hold ':' (a registry with a port) only before the last. */
function parseScope(s: string): { type: string; name: string; actions: string[] } | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

export function serve(cfg: TokenServerConfig): http.Server {
  const key = crypto.createPrivateKey(fs.readFileSync(cfg.keyFile));
  const x5c = fs.readFileSync(cfg.certFile, 'utf8').replace(/-----[A-Z ]+-----|\s/g, '');
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const form = new URLSearchParams(req.method === 'POST' ? body : '');
      const scopes = req.method === 'POST' ? (form.get('scope') ?? '').split(' ').filter(Boolean) : url.searchParams.getAll('scope');
      let account: string | null = null;
      let bad = false;
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      if (basic) {
        const [u, ...p] = Buffer.from(basic[1], 'base64').toString().split(':');
        if (cfg.users[u] !== undefined && cfg.users[u] === p.join(':')) account = u;
        else bad = true;
      }
      const grant = form.get('grant_type') ?? undefined;
      if (grant === 'password') {
        const u = form.get('username') ?? '';
        if (cfg.users[u] !== undefined && cfg.users[u] === form.get('password')) account = u;
        else bad = true;
      } else if (grant === 'refresh_token') {
        const u = cfg.identityTokens[form.get('refresh_token') ?? ''];
        if (u) account = u;
        else bad = true;
      }
      const log = (status: number) => fs.appendFileSync(cfg.logFile, JSON.stringify({ method: req.method ?? '', account, scopes, grant, status } satisfies TokenRequest) + '\n');
      if (bad || url.pathname !== '/token') {
        log(bad ? 401 : 404);
        res.writeHead(bad ? 401 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ details: bad ? 'invalid credentials' : 'not found' }));
        return;
      }
      const access = scopes.flatMap((s) => {
        const p = parseScope(s);
        if (!p) return [];
        const actions = account ? p.actions : cfg.anonymous === 'pull' ? p.actions.filter((a) => a === 'pull') : [];
        return actions.length ? [{ ...p, actions }] : [];
      });
      const token = sign(cfg, key, x5c, account ?? '', access);
      log(200);
      const out: Record<string, unknown> = { token, access_token: token, expires_in: cfg.expiresIn, issued_at: new Date().toISOString() };
      if (grant) out.refresh_token = form.get('refresh_token') ?? undefined;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as TokenServerConfig;
  const server = serve(cfg);
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
  // the test process that started this one is gone (or done with it): so is this one
  process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
}
