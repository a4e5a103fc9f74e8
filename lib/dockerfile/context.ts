/**
 * The build context and the Dockerfile: a directory; `-`, a tarball on stdin; an http(s) URL of a tarball; a
 * git repository (`git://`, `*.git`, `github.com/...`, with `#ref:subdir`), cloned shallowly with git. Archives
 * and clones go to a scratch directory in the store's tmp/, removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HodError, UsageError } from '../errors.js';
import { tmpName } from '../store/atomic.js';
import type { Store } from '../store/store.js';
import { unpackLayer } from '../store/unpack.js';
import { defaultTls } from '../registry/tls.js';
import { liftoffOnly } from '../registry/wasm-flags.js';

export interface BuildContext {
  dir: string;
  cleanup: () => void;
}

const GIT_RE = /^(git:\/\/|git@|github\.com\/)|\.git(#.*)?$/;

function scratch(store: Store): { dir: string; cleanup: () => void } {
  const dir = tmpName(store.paths.tmp, 'context');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Unpack a context tarball (plain or compressed) without following anything out of `dir`. */
async function unpackTo(stream: Readable, dir: string): Promise<void> {
  await unpackLayer(stream, dir, { whiteouts: 'none' });
}

export async function openContext(store: Store, spec: string, stdin: Readable = process.stdin): Promise<BuildContext> {
  if (spec === '-') {
    const s = scratch(store);
    try {
      await unpackTo(stdin, s.dir);
    } catch (err) {
      s.cleanup();
      throw new HodError('ECONTEXT', `reading the build context tarball from stdin: ${(err as Error).message}`, { cause: err });
    }
    return s;
  }
  if (GIT_RE.test(spec) && !fs.existsSync(spec)) {
    const s = scratch(store);
    const [repo, frag = ''] = spec.split('#', 2);
    const [ref, sub = ''] = frag.split(':', 2);
    const url = repo!.startsWith('github.com/') ? `https://${repo}` : repo!;
    try {
      execFileSync('git', ['clone', '--quiet', '--depth', '1', '--recurse-submodules', ...(ref ? ['--branch', ref] : []), url, s.dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      s.cleanup();
      const msg = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
      throw new HodError('ECONTEXT', `cloning the build context ${url}: ${msg}`, { cause: err });
    }
    return { dir: path.join(s.dir, sub), cleanup: s.cleanup };
  }
  if (/^https?:\/\//i.test(spec)) {
    const s = scratch(store);
    try {
      const { EnvHttpProxyAgent, interceptors, request } = await import('undici');
      liftoffOnly();
      const tls = defaultTls();
      const agent = new EnvHttpProxyAgent({ connect: tls, requestTls: tls, proxyTls: tls });
      try {
        const res = await request(spec, { dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 10 })) });
        if (res.statusCode !== 200) {
          await res.body.dump();
          throw new Error(`HTTP ${res.statusCode}`);
        }
        await unpackTo(res.body, s.dir);
      } finally {
        await agent.close();
      }
    } catch (err) {
      s.cleanup();
      throw new HodError('ECONTEXT', `fetching the build context ${spec}: ${(err as Error).message}`, { cause: err });
    }
    return s;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(spec);
  } catch {
    throw new UsageError(`the build context "${spec}" does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(`the build context "${spec}" is not a directory`);
  return { dir: path.resolve(spec), cleanup: () => undefined };
}

/**
 * The Dockerfile: `file` as given (`-` for stdin; a relative path that is not found from the current directory
 * is looked for in the context, as buildah does), else the context's Containerfile, else its Dockerfile.
 */
export function readDockerfile(contextDir: string, file: string | undefined, stdin = 0): { content: string; name: string } {
  if (file === '-') return { content: fs.readFileSync(stdin, 'utf8'), name: 'Dockerfile' };
  const candidates = file !== undefined
    ? [file, ...(path.isAbsolute(file) ? [] : [path.join(contextDir, file)])]
    : [path.join(contextDir, 'Containerfile'), path.join(contextDir, 'Dockerfile')];
  for (const c of candidates) {
    if (fs.existsSync(c) && fs.statSync(c).isFile()) return { content: fs.readFileSync(c, 'utf8'), name: file ?? path.basename(c) };
  }
  if (file !== undefined) throw new UsageError(`the Dockerfile "${file}" does not exist`);
  throw new UsageError(`no Containerfile or Dockerfile in the context directory "${contextDir}": give one with -f`);
}
