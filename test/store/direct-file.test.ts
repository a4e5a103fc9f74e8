import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { directWriteStream } from '../../lib/store/direct-file.js';

// /var/tmp, not os.tmpdir(): a tmpfs /tmp may refuse O_DIRECT, and the direct path is the one to test
const BASE = fs.existsSync('/var/tmp') ? '/var/tmp' : '/tmp';

describe('store/direct-file', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(BASE, 'hod-direct-file-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  // lengths around the block (4096) and buffer (4 MiB) boundaries, and more than the three buffers hold
  const sizes = [0, 1, 4095, 4096, 4097, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, (13 << 20) + 17];
  for (const size of sizes) {
    it(`writes ${size} bytes exactly, from chunks of every size`, async () => {
      const data = crypto.randomBytes(size);
      const chunks: Buffer[] = [];
      for (let off = 0, i = 1; off < size; i++) {
        const n = Math.min(size - off, (i * 7919) % (3 << 20) + 1);
        chunks.push(data.subarray(off, off + n));
        off += n;
      }
      const file = path.join(tmp, 'f');
      await pipeline(Readable.from(chunks), directWriteStream(file));
      expect(fs.readFileSync(file).equals(data)).to.equal(true);
    });
  }

  it('creates the file at once, replaces what was there, and a failing source leaves no descriptor open', async () => {
    const file = path.join(tmp, 'f');
    fs.writeFileSync(file, 'old content that is longer than the new');
    const before = fs.readdirSync('/proc/self/fd').length;
    const out = directWriteStream(file);
    expect(fs.existsSync(file)).to.equal(true);
    async function* failing() {
      yield crypto.randomBytes(9 << 20);
      throw new Error('source broke');
    }
    const err = await pipeline(Readable.from(failing()), out).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).to.equal('source broke');
    if (!out.closed) await new Promise((r) => out.once('close', r));
    expect(fs.readdirSync('/proc/self/fd').length).to.equal(before);
    await pipeline(Readable.from([Buffer.from('new')]), directWriteStream(file));
    expect(fs.readFileSync(file, 'utf8')).to.equal('new');
  });
});
