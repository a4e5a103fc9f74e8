/**
 * containers-policy.json(5): which images a pull accepts, per transport and scope, read as strictly as
 * containers/image reads it (a typo in a security policy must not pass silently): unknown fields, duplicate
 * keys, missing or empty requirement lists and malformed requirements are refused, each error naming the
 * file, the line:column and the place in the document (`transports.docker."example.com/team"[0]`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseReference } from '../image/reference.js';
import { parseDockerName, type IdentityRule } from './identity.js';
import { formatPath, JsonTextError, parseLocatedJson, type JsonPath, type LocatedJson } from './policy-json.js';
import { SignatureError, type KeySet } from './types.js';

export type Requirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  /** Simple signing: an OpenPGP signature by one of `keys` (keyrings). */
  | { type: 'signedBy'; keyType: 'GPGKeys'; keys: KeySet; signedIdentity: IdentityRule }
  /** A cosign signature by one of `keys` (PEM public keys). */
  | { type: 'sigstoreSigned'; keys: KeySet; signedIdentity: IdentityRule };

export interface Policy {
  /** For images that no transport section covers. Never empty. */
  default: Requirement[];
  /** Transport name -> scope ("" is the transport's own default) -> requirements, never empty. */
  transports: Map<string, Map<string, Requirement[]>>;
}

export const SYSTEM_POLICY_PATH = '/etc/containers/policy.json';

/**
 * The policy file to obey: `explicit` (--signature-policy) when given, whether or not it exists (reading it
 * will say so); else `$HOME/.config/containers/policy.json`, else /etc/containers/policy.json, when they exist.
 * Undefined when there is none, and then hod accepts every image unchecked: unlike containers/image, which
 * refuses to pull without a policy, so that hod works on hosts without containers-common installed.
 */
export function policyPath(explicit?: string, where: { home?: string; system?: string } = {}): string | undefined {
  if (explicit) return explicit;
  const home = where.home ?? process.env.HOME ?? os.homedir();
  const candidates = [path.join(home, '.config/containers/policy.json'), where.system ?? SYSTEM_POLICY_PATH];
  return candidates.find((p) => fs.existsSync(p));
}

/** Reads and validates a policy; every failure is a SignatureError with reason 'policy'. */
export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SignatureError('policy', `${file}: cannot read the signature policy: ${(e as Error).message}`, { cause: e });
  }
  let json: LocatedJson;
  try {
    json = parseLocatedJson(text);
  } catch (e) {
    if (e instanceof JsonTextError) throw new SignatureError('policy', `${file}:${e.at}: ${e.message}`);
    throw e;
  }
  return new PolicyReader(file, json).policy();
}

/**
 * The requirements for an image: the transport's section, the first of `scopes` (most specific first) it
 * lists, else its "" entry; else the policy's default. `scope` says which was chosen, for messages.
 */
export function requirementsFor(policy: Policy, transport: string, scopes: string[]): { scope: string; requirements: Requirement[] } {
  const section = policy.transports.get(transport);
  if (section) {
    for (const s of scopes) {
      const requirements = s === '' ? undefined : section.get(s);
      if (requirements) return { scope: `${transport} scope ${JSON.stringify(s)}`, requirements };
    }
    const requirements = section.get('');
    if (requirements) return { scope: `transport ${transport} default`, requirements };
  }
  return { scope: 'default', requirements: policy.default };
}

/**
 * A registry reference's scopes as policy.json and registries.d key them, most specific first: `host/repo:tag`
 * (or `@digest`), `host/repo`, each parent namespace, `host`, then `*.domain` wildcards. Kept here, not in
 * registries-d.ts, so that a pull that checks no signature does not load the YAML parser (10 ms).
 */
export function dockerScopes(ref: { domain: string; path: string; tag?: string; digest?: string }): string[] {
  const repo = `${ref.domain}/${ref.path}`;
  const out = [ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`];
  for (let ns = repo; ; ) {
    out.push(ns);
    const i = ns.lastIndexOf('/');
    if (i < 0) break;
    ns = ns.slice(0, i);
  }
  const host = ref.domain.replace(/:\d+$/, '');
  for (let d = host; d.includes('.'); ) {
    d = d.slice(d.indexOf('.') + 1);
    out.push(`*.${d}`);
  }
  return out;
}

/**
 * Scopes of an image in a file or directory, most specific first, as containers/image names them for dir:
 * (the directory), oci: (the layout directory: the image name after ":" is not part of the identity, since
 * "dir:name" and "dir:" can be one image) and oci-archive: (the archive file): the absolute path with symbolic
 * links resolved, then each parent directory except "/" (the transport's "" entry covers that).
 * docker-archive: has no scopes: only its transport default applies. For docker://, dockerScopes above.
 */
export function pathScopes(p: string): string[] {
  const out: string[] = [];
  for (let dir = resolveExplicit(p); dir !== '/' && dir !== ''; dir = path.dirname(dir)) out.push(dir);
  return out;
}

/** The absolute path without symbolic links; a path that does not exist yet resolves through its parent. */
function resolveExplicit(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

// ---- validation ----

/** Transports whose scopes are absolute paths (containers/image refuses relative and unclean ones). */
const PATH_TRANSPORTS = new Set(['dir', 'oci', 'oci-archive']);
const KEY_SOURCES = ['keyPath', 'keyPaths', 'keyData'] as const;
const SIGSTORE_KEY_SOURCES = [...KEY_SOURCES, 'keyDatas'] as const;
const KEYLESS_FIELDS = ['fulcio', 'rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas'];
// A registry host[:port], as distribution's grammar has it.
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const DOMAIN_RE = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

type Obj = Record<string, unknown>;

class PolicyReader {
  constructor(
    private readonly file: string,
    private readonly json: LocatedJson,
  ) {}

  policy(): Policy {
    const top = this.object(this.json.value, [], ['default', 'transports']);
    if (!('default' in top)) this.fail([], 'missing "default", the requirements for images no transport section covers');
    const policy: Policy = { default: this.requirements(top.default, ['default']), transports: new Map() };
    if ('transports' in top) {
      const transports = this.object(top.transports, ['transports']);
      for (const [transport, scopesValue] of Object.entries(transports)) {
        const scopes = this.object(scopesValue, ['transports', transport]);
        const section = new Map<string, Requirement[]>();
        for (const [scope, reqs] of Object.entries(scopes)) {
          const at = ['transports', transport, scope];
          this.checkScope(transport, scope, at);
          section.set(scope, this.requirements(reqs, at));
        }
        policy.transports.set(transport, section);
      }
    }
    return policy;
  }

  private checkScope(transport: string, scope: string, at: JsonPath): void {
    if (scope === '') return;
    if (transport === 'docker-archive') this.fail(at, 'docker-archive takes no scopes, only the transport default ""');
    if (!PATH_TRANSPORTS.has(transport)) return;
    if (!scope.startsWith('/')) this.fail(at, `a ${transport} scope must be an absolute path`);
    if (scope === '/') this.fail(at, 'the scope "/" would mean the same as the transport default: use "" instead');
    const clean = path.posix.normalize(scope).replace(/\/+$/, '');
    if (clean !== scope) this.fail(at, `the scope is not in canonical form; write ${JSON.stringify(clean)}`);
  }

  private requirements(value: unknown, at: JsonPath): Requirement[] {
    if (!Array.isArray(value)) this.fail(at, 'must be a list of requirements');
    if (value.length === 0) this.fail(at, 'the list of requirements must not be empty');
    return value.map((r, i) => this.requirement(r, [...at, i]));
  }

  private requirement(value: unknown, at: JsonPath): Requirement {
    const type = this.typeOf(value, at);
    switch (type) {
      case 'insecureAcceptAnything':
      case 'reject':
        this.object(value, at, ['type']);
        return { type };
      case 'signedBy': {
        const o = this.object(value, at, ['type', 'keyType', ...KEY_SOURCES, 'signedIdentity']);
        if (!('keyType' in o)) this.fail(at, 'signedBy needs "keyType": "GPGKeys"');
        const keyType = this.string(o.keyType, [...at, 'keyType']);
        if (keyType !== 'GPGKeys') {
          const known = ['signedByGPGKeys', 'X509Certificates', 'signedByX509CAs'].includes(keyType);
          this.fail([...at, 'keyType'], known ? `keyType ${JSON.stringify(keyType)} is not implemented (containers/image does not implement it either): use "GPGKeys"` : `unknown keyType ${JSON.stringify(keyType)}: use "GPGKeys"`);
        }
        return { type, keyType, keys: this.keys(o, at, KEY_SOURCES), signedIdentity: this.identity(o, at) };
      }
      case 'sigstoreSigned': {
        const o = this.object(value, at, ['type', ...SIGSTORE_KEY_SOURCES, 'signedIdentity', ...KEYLESS_FIELDS, 'pki']);
        const keyless = KEYLESS_FIELDS.find((f) => f in o);
        if (keyless) this.fail([...at, keyless], 'keyless (Fulcio/Rekor) verification is not supported by hod: use keyPath');
        if ('pki' in o) this.fail([...at, 'pki'], 'X.509 certificate (pki) verification is not supported by hod: use keyPath');
        return { type, keys: this.keys(o, at, SIGSTORE_KEY_SOURCES), signedIdentity: this.identity(o, at) };
      }
      case 'signedBaseLayer':
        return this.fail(at, 'signedBaseLayer is not implemented (containers/image does not implement it either)');
      default:
        return this.fail([...at, 'type'], `unknown requirement type ${JSON.stringify(type)} (known: insecureAcceptAnything, reject, signedBy, sigstoreSigned)`);
    }
  }

  /** Exactly one key source; relative key files are taken from the policy file's directory. */
  private keys(o: Obj, at: JsonPath, sources: readonly string[]): KeySet {
    const given = sources.filter((s) => s in o);
    const names = sources.join(', ');
    if (given.length === 0) this.fail(at, `one of ${names} is required`);
    if (given.length > 1) this.fail([...at, given[1]!], `only one of ${names} may be given, not ${given.join(' and ')}`);
    const source = given[0]!;
    const where = [...at, source];
    const base = path.dirname(path.resolve(this.file));
    const file = (v: unknown, p: JsonPath): string => {
      const s = this.string(v, p);
      if (s === '') this.fail(p, 'must not be empty');
      return path.resolve(base, s);
    };
    switch (source) {
      case 'keyPath':
        return { paths: [file(o.keyPath, where)], data: [] };
      case 'keyPaths':
        return { paths: this.nonEmptyList(o.keyPaths, where).map((v, i) => file(v, [...where, i])), data: [] };
      case 'keyData':
        return { paths: [], data: [this.base64(o.keyData, where)] };
      default:
        return { paths: [], data: this.nonEmptyList(o.keyDatas, where).map((v, i) => this.base64(v, [...where, i])) };
    }
  }

  /** The signedIdentity rule; absent means matchRepoDigestOrExact. */
  private identity(o: Obj, reqAt: JsonPath): IdentityRule {
    if (!('signedIdentity' in o)) return { type: 'matchRepoDigestOrExact' };
    const at = [...reqAt, 'signedIdentity'];
    const type = this.typeOf(o.signedIdentity, at);
    switch (type) {
      case 'matchRepoDigestOrExact':
      case 'matchExact':
      case 'matchRepository':
        this.object(o.signedIdentity, at, ['type']);
        return { type };
      case 'exactReference': {
        const ref = this.required(o.signedIdentity, at, 'dockerReference');
        this.reference(ref, [...at, 'dockerReference'], true);
        return { type, dockerReference: ref };
      }
      case 'exactRepository': {
        const repo = this.required(o.signedIdentity, at, 'dockerRepository');
        this.reference(repo, [...at, 'dockerRepository'], false);
        return { type, dockerRepository: repo };
      }
      case 'remapIdentity': {
        const prefix = this.required(o.signedIdentity, at, 'prefix', 'signedPrefix');
        const signedPrefix = (o.signedIdentity as Obj).signedPrefix as string;
        for (const [field, v] of [['prefix', prefix], ['signedPrefix', signedPrefix]] as const) {
          if (!validPrefix(v)) this.fail([...at, field], `${JSON.stringify(v)} is not a registry host or a host/repository prefix`);
        }
        return { type, prefix, signedPrefix };
      }
      default:
        return this.fail([...at, 'type'], `unknown signedIdentity type ${JSON.stringify(type)} (known: matchRepoDigestOrExact, matchExact, matchRepository, exactReference, exactRepository, remapIdentity)`);
    }
  }

  /** An object with exactly `type` and `fields` (all strings); returns the first field. */
  private required(value: unknown, at: JsonPath, ...fields: string[]): string {
    const o = this.object(value, at, ['type', ...fields]);
    for (const f of fields) {
      if (!(f in o)) this.fail(at, `${o.type} needs "${f}"`);
      this.string(o[f], [...at, f]);
    }
    return o[fields[0]!] as string;
  }

  private reference(s: string, at: JsonPath, needTagOrDigest: boolean): void {
    try {
      const r = parseDockerName(s);
      if (needTagOrDigest && r.tag === undefined && r.digest === undefined) this.fail(at, `${JSON.stringify(s)} has neither a tag nor a digest`);
    } catch (e) {
      if (e instanceof SignatureError) throw e;
      this.fail(at, (e as Error).message);
    }
  }

  private typeOf(value: unknown, at: JsonPath): string {
    const o = this.object(value, at);
    if (!('type' in o)) this.fail(at, 'missing "type"');
    return this.string(o.type, [...at, 'type']);
  }

  /** A JSON object; with `allowed`, any other field is refused. */
  private object(value: unknown, at: JsonPath, allowed?: string[]): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(at, 'must be a JSON object');
    if (allowed) {
      for (const key of Object.keys(value)) {
        if (!allowed.includes(key)) this.fail([...at, key], `unknown field ${JSON.stringify(key)} (allowed here: ${allowed.join(', ')})`);
      }
    }
    return value as Obj;
  }

  private string(value: unknown, at: JsonPath): string {
    if (typeof value !== 'string') this.fail(at, 'must be a string');
    return value;
  }

  private nonEmptyList(value: unknown, at: JsonPath): unknown[] {
    if (!Array.isArray(value)) this.fail(at, 'must be a list');
    if (value.length === 0) this.fail(at, 'must list at least one key');
    return value;
  }

  /** Standard base64 with padding, as Go's encoding/json reads []byte (line breaks allowed). */
  private base64(value: unknown, at: JsonPath): Buffer {
    const s = this.string(value, at).replace(/[\r\n]/g, '');
    if (s === '' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) this.fail(at, 'must be base64 data');
    return Buffer.from(s, 'base64');
  }

  private fail(at: JsonPath, problem: string): never {
    // A field that is missing has no place of its own: point at the object that lacks it.
    let loc: string | undefined;
    for (let n = at.length; loc === undefined && n >= 0; n--) loc = this.json.at(at.slice(0, n));
    const where = formatPath(at);
    throw new SignatureError('policy', `${this.file}${loc ? `:${loc}` : ''}: ${where ? `${where}: ` : ''}${problem}`);
  }
}

/** containers/image's check of remapIdentity prefixes: a host[:port], or a host[:port]/path without tag or digest. */
function validPrefix(s: string): boolean {
  if (DOMAIN_RE.test(s)) return true;
  const slash = s.indexOf('/');
  if (slash < 0 || !DOMAIN_RE.test(s.slice(0, slash))) return false;
  try {
    const r = parseReference(s);
    return r.tag === undefined && r.digest === undefined;
  } catch {
    return false;
  }
}
