import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBusybox, tempRoot } from './helpers.js';

/**
 * What the bud suites share, registered as mocha hooks of the calling describe: a store with busybox:1, and
 * a fresh context directory per test, with `write` to put files in it.
 */
export function budFixture(): { root: string; ctx: string; write: (rel: string, content: string) => void } {
  let t: ReturnType<typeof tempRoot> | undefined;
  const f = {
    root: '',
    ctx: '',
    write(rel: string, content: string) {
      fs.mkdirSync(path.dirname(path.join(f.ctx, rel)), { recursive: true });
      fs.writeFileSync(path.join(f.ctx, rel), content);
    },
  };
  before(() => {
    t = tempRoot();
    f.root = t.root;
    makeBusybox(f.root, 'busybox:1');
  });
  after(() => t?.cleanup());
  beforeEach(() => {
    f.ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-bud-ctx-'));
  });
  afterEach(() => fs.rmSync(f.ctx, { recursive: true, force: true }));
  return f;
}
