/**
 * TLS settings for one registry, as containers/image finds them: the system's CAs, plus what
 * `<certs.d>/<host[:port]>/` holds — `*.crt` extra CAs, `*.cert` + `*.key` client certificate pairs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { RegistryError } from './registry-error.js';

export interface TlsOptions {
  /** false: accept any certificate (client certificates are still presented). */
  tlsVerify?: boolean;
  /** The one certs.d directory to look in; without it, containers/image's list (`defaultCertsDirs`). */
  certsDir?: string;
}

/** What undici's connector passes on to `tls.connect`. */
export interface ConnectTls {
  rejectUnauthorized?: boolean;
  secureContext?: tls.SecureContext;
}

/** A registry's TLS settings, and where a client certificate would go when it has none. */
export interface RegistryTls {
  connect: ConnectTls;
  /** The certs.d directory for the host when no client certificate was found, for error messages. */
  noClientCertIn?: string;
}

/** Per-user directory first when not root, then the system ones, as containers/image searches them. */
export function defaultCertsDirs(): string[] {
  const dirs = ['/etc/containers/certs.d', '/etc/docker/certs.d'];
  if (process.getuid?.() !== 0) dirs.unshift(path.join(process.env.HOME || os.homedir(), '.config', 'containers', 'certs.d'));
  return dirs;
}

/** The directory of `host` that exists in the first certs.d that has one, or undefined. */
export function hostCertsDir(host: string, opts: TlsOptions = {}): string | undefined {
  for (const base of opts.certsDir ? [opts.certsDir] : defaultCertsDirs()) {
    const dir = path.join(base, host);
    if (fs.existsSync(dir)) return dir;
  }
  return undefined;
}

/** The files of a host's certs.d directory, checked the way containers/image checks them. */
export function readHostCerts(dir: string): { cas: string[]; pairs: { cert: string; key: string }[] } {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (err) {
    throw new RegistryError(`cannot read certificates directory ${dir}: ${(err as Error).message}`, { code: 'ECONNECT', cause: err });
  }
  const read = (n: string) => {
    try {
      return fs.readFileSync(path.join(dir, n), 'utf8');
    } catch (err) {
      throw new RegistryError(`cannot read ${path.join(dir, n)}: ${(err as Error).message}`, { code: 'ECONNECT', cause: err });
    }
  };
  const cas = names.filter((n) => n.endsWith('.crt')).map(read);
  const pairs: { cert: string; key: string }[] = [];
  for (const n of names.filter((x) => x.endsWith('.cert'))) {
    const key = n.slice(0, -'.cert'.length) + '.key';
    if (!names.includes(key)) throw new RegistryError(`${dir}: client certificate ${n} has no key ${key}`, { code: 'ECONNECT' });
    pairs.push({ cert: read(n), key: read(key) });
  }
  for (const n of names.filter((x) => x.endsWith('.key'))) {
    const cert = n.slice(0, -'.key'.length) + '.cert';
    if (!names.includes(cert)) throw new RegistryError(`${dir}: key ${n} has no client certificate ${cert}`, { code: 'ECONNECT' });
  }
  return { cas, pairs };
}

/**
 * The system's CA bundle when the TLS settings must list CAs explicitly (`SSL_CERT_FILE`, then Debian's and
 * Fedora's bundles), else Node's own copy of the same Mozilla list. Parsing it costs ~25 ms, so the default
 * context, which needs no list, is used whenever nothing is added to it.
 */
function systemCAs(): string[] {
  for (const f of [process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']) {
    if (f && fs.existsSync(f)) return [fs.readFileSync(f, 'utf8')];
  }
  return [...tls.rootCertificates];
}

let extraCAs: string[] | undefined;

/**
 * The CAs of `NODE_EXTRA_CA_CERTS` when bin/hod held the variable back from Node's start (when it did not,
 * Node's default context has them already), read on first use. A file that cannot be read is ignored with
 * the warning Node gives.
 */
function deferredExtraCAs(): string[] {
  const file = (process as unknown as Record<symbol, string | undefined>)[Symbol.for('hod.extraCaCerts')];
  if (!file) return [];
  if (!extraCAs) {
    try {
      extraCAs = [fs.readFileSync(file, 'utf8')];
    } catch (err) {
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
      extraCAs = [];
    }
  }
  return extraCAs;
}

let defaultContext: tls.SecureContext | undefined;

/**
 * TLS connect options for any host without settings of its own (a blob store a download is redirected to,
 * an ADD or build-context URL): the system's CAs and `NODE_EXTRA_CA_CERTS`, verified.
 */
export function defaultTls(): ConnectTls {
  const ca = trustedCAs([]);
  if (!ca) return {};
  defaultContext ??= tls.createSecureContext({ ca });
  return { secureContext: defaultContext };
}

/** The CAs to trust besides `cas`, or undefined when Node's default context holds them all. */
function trustedCAs(cas: string[]): string[] | undefined {
  const extra = deferredExtraCAs();
  if (cas.length || process.env.SSL_CERT_FILE) return [...systemCAs(), ...extra, ...cas];
  return extra.length ? [...tls.rootCertificates, ...extra] : undefined;
}

/** TLS connect options for the registry `host` itself. */
export function registryTls(host: string, opts: TlsOptions = {}): RegistryTls {
  const dir = hostCertsDir(host, opts);
  const { cas, pairs } = dir ? readHostCerts(dir) : { cas: [], pairs: [] };
  const noClientCertIn = pairs.length ? undefined : dir ?? path.join(opts.certsDir ?? defaultCertsDirs()[0], host);
  return { connect: connectTls(dir, cas, pairs, opts.tlsVerify !== false), noClientCertIn };
}

function connectTls(dir: string | undefined, cas: string[], pairs: { cert: string; key: string }[], verify: boolean): ConnectTls {
  if (!cas.length && !pairs.length && verify) return defaultTls();
  try {
    const secureContext = tls.createSecureContext({
      // nothing is verified without --tls-verify: an empty list spares loading the system's CAs (~30 ms)
      ca: verify ? trustedCAs(cas) : [],
      cert: pairs.length ? pairs.map((p) => p.cert) : undefined,
      key: pairs.length ? pairs.map((p) => p.key) : undefined,
    });
    return verify ? { secureContext } : { secureContext, rejectUnauthorized: false };
  } catch (err) {
    throw new RegistryError(`${dir}: unusable certificate or key: ${(err as Error).message}`, { code: 'ECONNECT', cause: err });
  }
}
