/**
 * COPY and ADD, planned: flags checked and expanded, sources and destination resolved (here-documents written
 * to a scratch context, a `--from` stage, image or named build context found), and the content part of the
 * step's cache key. build.ts then looks the step up and, on a miss, calls `add` with the plan.
 */
import fs from 'node:fs';
import path from 'node:path';
import { digestSources, digestSourcesInWorker, type HashCache } from '../builder/source-digest.js';
import { DockerfileError } from '../errors.js';
import { expandWord, type Lookup } from './lex.js';
import { splitRawWords, type Instruction } from './parse.js';

export interface CopyContext {
  file: string;
  escape: string;
  lookup: Lookup;
  contextDir: string;
  ignoreFile?: string;
  buildContexts?: Map<string, string>;
  /** No cache hit is possible: hash the sources on a worker while they are copied. */
  mustMiss: boolean;
  hashCache: HashCache;
  /** The image id of a stage (name or index) or image named by --from. */
  imageFor: (ref: string) => Promise<string>;
  scratch: () => string;
}

export interface CopyPlan {
  sources: string[];
  dest: string;
  chown?: string;
  chmod?: string;
  checksum?: string;
  /** Copy out of this image instead of a context directory. */
  fromImage?: string;
  contextDir: string;
  ignoreFile?: string;
  /** The sources' part of the cache key; a promise while a worker hashes them. */
  contentKey: string | Promise<string>;
  /** The instruction, expanded, for the cache key. */
  resolved: string;
}

const FLAGS = ['from', 'chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'parents', 'exclude'];
const heredocName = (w: string) => /^<<-?["']?(\w+)["']?$/.exec(w)?.[1];

export async function planCopy(ins: Instruction, c: CopyContext): Promise<CopyPlan> {
  const fail = (msg: string, cause?: unknown) => new DockerfileError(c.file, ins.line, msg, { cause });
  const x = (w: string) => expandWord(w, c.lookup, c.escape);
  const flag = (n: string) => {
    const f = ins.flags.find((g) => g.name === n);
    return f ? x(f.value ?? '') : undefined;
  };
  for (const f of ins.flags) {
    if (!FLAGS.includes(f.name)) throw fail(`${ins.keyword}: unknown flag --${f.name}`);
    if ((f.name === 'parents' || f.name === 'exclude') && f.value !== 'false') throw fail(`${ins.keyword} --${f.name} is not supported yet`);
  }
  if (ins.keyword === 'COPY' && ins.flags.some((f) => f.name === 'checksum')) throw fail('COPY: --checksum is only for ADD');
  const words = ins.json ?? splitRawWords(ins.args, c.escape);
  if (words.length < 2) throw fail(`${ins.keyword} requires at least two arguments: one or more sources and a destination`);
  const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
  let sources = words.slice(0, -1).map((w) => (ins.json || !heredocName(w) ? x(w) : w));
  let dest = x(words[words.length - 1]!);
  // buildah takes several sources into a destination without the trailing slash as a directory
  if (words.length > 2 && !dest.endsWith('/')) dest += '/';
  let fromRef = flag('from');
  const named = fromRef !== undefined ? c.buildContexts?.get(fromRef) : undefined;
  if (named !== undefined) fromRef = named.startsWith('docker-image://') ? named.slice('docker-image://'.length) : undefined;
  const checksum = flag('checksum');
  if (checksum !== undefined) {
    if (!/^sha256:[0-9a-f]{64}$/.test(checksum)) throw fail(`ADD --checksum=${checksum}: expected sha256:<64 hex digits>`);
    if (sources.length !== 1 || !/^https?:\/\//i.test(sources[0]!)) throw fail('ADD --checksum needs exactly one http(s) source');
  }
  // a named build context that is a directory stands in for the main context, without its ignore file
  const ownDir = named !== undefined && fromRef === undefined;
  let contextDir = ownDir ? named : c.contextDir;
  let ignoreFile = ownDir ? undefined : c.ignoreFile;
  let fromImage: string | undefined;
  let contentKey: string | Promise<string>;
  if (sources.some((s) => heredocs.has(heredocName(s) ?? ''))) {
    if (!sources.every((s) => heredocName(s))) throw fail(`${ins.keyword}: here-documents cannot be mixed with other sources`);
    contextDir = c.scratch();
    ignoreFile = undefined;
    sources = sources.map((s) => {
      const h = heredocs.get(heredocName(s)!)!;
      fs.writeFileSync(path.join(contextDir, h.name), h.expand ? x(h.content.replace(/(["'])/g, '\\$1')) : h.content, { mode: 0o644 });
      return h.name;
    });
    contentKey = sources.map((s) => fs.readFileSync(path.join(contextDir, s), 'utf8')).join('\0');
  } else if (fromRef !== undefined) {
    fromImage = await c.imageFor(fromRef);
    contentKey = fromImage;
  } else {
    const local = sources.filter((s) => !/^https?:\/\//i.test(s));
    const digest = !local.length ? Promise.resolve('')
      : c.mustMiss ? digestSourcesInWorker(contextDir, local, { ignoreFile, cache: c.hashCache })
        : digestSources(contextDir, local, { ignoreFile, cache: c.hashCache });
    contentKey = digest.catch((err: Error) => {
      throw fail(`${ins.keyword}: ${err.message}`, err);
    });
    if (!c.mustMiss) await contentKey;
  }
  const resolved = `${ins.keyword} ${ins.flags.map((f) => `--${f.name}=${x(f.value ?? '')}`).join(' ')} ${JSON.stringify(sources)} ${dest}`;
  return { sources, dest, chown: flag('chown'), chmod: flag('chmod'), checksum, fromImage, contextDir, ignoreFile, contentKey, resolved };
}
