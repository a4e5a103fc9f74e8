/**
 * What a copy from a context directory would copy, as one digest, computed without copying: the cache key of a
 * Dockerfile COPY or ADD. It covers each copied entry's name, type, permission bits, size, link target and
 * content, after the ignore file's exclusions; not times (buildah and Docker leave them out too) and not owners
 * (a `--chown` is part of the instruction, which is in the key anyway).
 *
 * File contents are hashed once: a `HashCache` remembers each file's hash by device, inode, size, mtime and
 * ctime, so a rebuild only stats the tree, as git's index does.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { contextRoot, expandSource, Excluder, type Item } from './add.js';
import { fromByteString } from '../store/pathsafe.js';
import { HodError } from '../errors.js';
import type { DigestJob, DigestReply } from './source-digest-worker.js';

export interface HashCache {
  get(key: string): string | undefined;
  set(key: string, hash: string): void;
}

const B = (p: string): Buffer => Buffer.from(p, 'latin1');

function statKey(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function fileHash(host: string, st: fs.Stats, cache: HashCache | undefined): string {
  const key = statKey(st);
  const known = cache?.get(key);
  if (known) return known;
  const h = crypto.createHash('sha256').update(fs.readFileSync(B(host))).digest('hex');
  cache?.set(key, h);
  return h;
}

class Walker {
  readonly hash = crypto.createHash('sha256');
  constructor(private readonly excluder: Excluder | undefined, private readonly cache: HashCache | undefined) {}

  entry(name: string, host: string, st: fs.Stats): void {
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) this.hash.update(`d ${name} ${mode}\n`);
    else if (st.isSymbolicLink()) this.hash.update(`l ${name} ${fs.readlinkSync(B(host), 'latin1')}\n`);
    else if (st.isFile()) this.hash.update(`f ${name} ${mode} ${st.size} ${fileHash(host, st, this.cache)}\n`);
    else this.hash.update(`o ${name} ${mode} ${st.mode & 0o170000} ${st.rdev}\n`);
  }

  contents(dir: string, name: string, rel: string): void {
    const names = (fs.readdirSync(B(dir), { encoding: 'buffer' }) as Buffer[]).map((n) => n.toString('latin1')).sort();
    for (const n of names) {
      const host = `${dir}/${n}`;
      const st = fs.lstatSync(B(host));
      const r = rel === '.' || rel === '' ? fromByteString(n) : `${rel}/${fromByteString(n)}`;
      const nm = `${name}/${n}`;
      const ex = this.excluder?.excluded(r) ?? false;
      if (!ex) this.entry(nm, host, st);
      if (st.isDirectory() && (!ex || this.excluder!.mayIncludeUnder(r))) this.contents(host, nm, r);
    }
  }
}

/** The digest of what copying `sources` (context paths, globs allowed) out of `contextDir` would copy. */
export async function digestSources(contextDir: string, sources: string[], opts: { ignoreFile?: string; exclude?: string[]; cache?: HashCache } = {}): Promise<string> {
  const src = contextRoot(contextDir);
  const excluder = Excluder.load(src, { extract: false, contextDir, ignoreFile: opts.ignoreFile, exclude: opts.exclude });
  const w = new Walker(excluder, opts.cache);
  for (const spec of sources) {
    w.hash.update(`source ${spec}\n`);
    const items: Item[] = await expandSource(src, spec, false);
    for (const item of items) {
      if (item.rel !== '.' && excluder?.excluded(item.rel) && !(item.st.isDirectory() && excluder.mayIncludeUnder(item.rel))) continue;
      const st = fs.statSync(B(item.host));
      w.entry(`item ${item.rel}`, item.host, st);
      if (st.isDirectory()) w.contents(item.host, '', item.rel);
    }
  }
  return w.hash.digest('hex');
}

/** digestSources on a worker thread: the same digest, while this thread does other work. */
export function digestSourcesInWorker(contextDir: string, sources: string[], opts: { ignoreFile?: string; cache?: HashCache & { entries?: () => [string, string][] } } = {}): Promise<string> {
  return import('node:worker_threads').then(({ Worker }) => new Promise<string>((resolve, reject) => {
    // the worker's own bundle (scripts/bundle.mjs): found from here in dist/lib/builder and from the verb bundles
    const worker = new Worker(new URL('../../cli/source-digest-worker.cjs', import.meta.url), { execArgv: [] });
    worker.once('message', (reply: DigestReply) => {
      void worker.terminate();
      if ('error' in reply) return reject(new HodError('ENOENT', reply.error));
      for (const [k, h] of reply.added) opts.cache?.set(k, h);
      resolve(reply.digest);
    });
    worker.once('error', reject);
    const job: DigestJob = { contextDir, sources, ignoreFile: opts.ignoreFile, known: opts.cache?.entries?.() ?? [] };
    worker.postMessage(job);
  }));
}
