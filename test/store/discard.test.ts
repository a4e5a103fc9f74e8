import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Store } from '../../lib/store/store.js';
import { discardTree, isTrash } from '../../lib/store/discard.js';

function tree(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    fs.mkdirSync(path.join(dir, `d${i % 10}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `d${i % 10}`, `f${i}`), 'x');
  }
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('store/discard', function () {
  let root: string;
  let store: Store;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-discard-'));
    store = Store.open({ root });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('takes a tree out of its place at once and deletes it in the background', async function () {
    const dir = path.join(root, 'containers', 'big');
    tree(dir, 2000);
    discardTree(store.paths, dir);
    expect(fs.existsSync(dir)).to.equal(false);
    await until(() => fs.readdirSync(store.paths.tmp).length === 0);
  });

  it('ignores a tree that is already gone', function () {
    discardTree(store.paths, path.join(root, 'nothing-here'));
    expect(fs.readdirSync(store.paths.tmp)).to.deep.equal([]);
  });

  it('hands a stale trash entry to rm again, and leaves it out of the dead-writer cleanup', async function () {
    const trash = path.join(store.paths.tmp, 'trash-999999-0123456789ab');
    tree(trash, 50);
    expect(isTrash(store.paths.tmp, 'blob-999999-0123456789ab', 0)).to.equal(false);
    expect(isTrash(store.paths.tmp, path.basename(trash), 60_000)).to.equal(true);
    expect(fs.existsSync(trash), 'a fresh entry is left to whoever is deleting it').to.equal(true);
    expect(isTrash(store.paths.tmp, path.basename(trash), 0)).to.equal(true);
    await until(() => !fs.existsSync(trash));
  });
});
