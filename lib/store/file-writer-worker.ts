/**
 * File-writer worker: creates the regular files of a layer being unpacked, a batch at a time, so that the
 * syscalls of thousands of small files run beside the main thread's tar parsing. See file-writer.ts.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { FileBatch, FileBatchResult } from './file-writer.js';

if (!parentPort) throw new Error('file-writer-worker must run in a worker thread');
const port = parentPort;
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

port.on('message', (batch: FileBatch) => {
  const data = new Uint8Array(batch.buf);
  let msg: FileBatchResult = { id: batch.id, buf: batch.buf };
  for (const op of batch.ops) {
    try {
      // O_EXCL and O_NOFOLLOW: the main thread made sure nothing is at this path; if something is, fail
      const fd = fs.openSync(Buffer.from(op.path, 'latin1'), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, op.openMode);
      try {
        for (let off = op.off, end = op.off + op.len; off < end; ) off += fs.writeSync(fd, data, off, end - off);
        if (op.chown) fs.fchownSync(fd, op.uid, op.gid);
        if (op.chmod) fs.fchmodSync(fd, op.mode);
        fs.futimesSync(fd, op.atime, op.mtime);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      msg = { id: batch.id, error: { message: e.message, code: e.code, path: op.path }, buf: batch.buf };
      break;
    }
  }
  port.postMessage(msg, [batch.buf]);
});
