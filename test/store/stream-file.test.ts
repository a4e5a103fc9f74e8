import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { StreamFile } from '../../lib/store/stream-file.js';

describe('store/stream-file', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-stream-file-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes chunks in order, however many are queued at once', async () => {
    // sizes from 1 byte to 3 MiB, 40 MiB in all: more than the queue holds, so write() has to wait too
    const chunks: Buffer[] = [];
    for (let i = 0, total = 0; total < 40 << 20; i++) {
      const c = crypto.randomBytes(i % 7 === 0 ? 1 : (i * 104_729) % (3 << 20) + 1);
      chunks.push(c);
      total += c.length;
    }
    const file = path.join(tmp, 'f');
    const fd = fs.openSync(file, 'w');
    const out = new StreamFile(fd);
    for (const c of chunks) await out.write(c);
    await out.end();
    fs.closeSync(fd);
    expect(fs.readFileSync(file).equals(Buffer.concat(chunks))).to.equal(true);
  });

  it('reports a failed write from write() or end(), and end() settles with nothing in flight', async () => {
    const file = path.join(tmp, 'ro');
    fs.writeFileSync(file, '');
    const fd = fs.openSync(file, 'r');
    const out = new StreamFile(fd);
    const errors: unknown[] = [];
    for (let i = 0; i < 40; i++) await out.write(Buffer.alloc(1 << 20)).catch((e: unknown) => errors.push(e));
    await out.end().catch((e: unknown) => errors.push(e));
    fs.closeSync(fd);
    expect(errors.length).to.be.greaterThan(0);
    expect((errors[0] as NodeJS.ErrnoException).code).to.equal('EBADF');
  });
});
