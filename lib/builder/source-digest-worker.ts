/**
 * digestSources on a worker thread, so that a COPY can hash its sources while the main thread copies them
 * (when the step cannot be a cache hit anyway). See source-digest.ts.
 */
import { parentPort } from 'node:worker_threads';
import { digestSources } from './source-digest.js';

export interface DigestJob {
  contextDir: string;
  sources: string[];
  ignoreFile?: string;
  known: [string, string][];
}

export type DigestReply = { digest: string; added: [string, string][] } | { error: string };

if (!parentPort) throw new Error('source-digest-worker must run in a worker thread');
const port = parentPort;
port.once('message', (job: DigestJob) => {
  const known = new Map(job.known);
  const added: [string, string][] = [];
  const cache = { get: (k: string) => known.get(k), set: (k: string, h: string) => void added.push([k, h]) };
  digestSources(job.contextDir, job.sources, { ignoreFile: job.ignoreFile, cache }).then(
    (digest) => port.postMessage({ digest, added } satisfies DigestReply),
    (err: Error) => port.postMessage({ error: err.message } satisfies DigestReply),
  );
});
