/**
 * pgzip worker: compresses one block as raw deflate, primed with a dictionary (the previous block's last
 * 32 KiB), ending with Z_SYNC_FLUSH (or Z_FINISH for the last block). See pgzip.ts.
 */
import { parentPort } from 'node:worker_threads';
import { deflateBlock, type BlockJob, type BlockResult } from './pgzip.js';

if (!parentPort) throw new Error('pgzip-worker must run in a worker thread');
const port = parentPort;

port.on('message', (job: BlockJob) => {
  let msg: BlockResult;
  try {
    const out = deflateBlock(Buffer.from(job.buf, job.off, job.len), job.dict, job.last, job.level);
    // Send an ArrayBuffer that holds exactly the output, so it can be transferred without copying.
    const ab = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
      ? (out.buffer as ArrayBuffer)
      : new Uint8Array(out).buffer;
    msg = { id: job.id, buf: ab, len: out.byteLength };
    port.postMessage(msg, [ab]);
  } catch (err) {
    msg = { id: job.id, error: err instanceof Error ? `${err.message}` : String(err) };
    port.postMessage(msg);
  }
});
