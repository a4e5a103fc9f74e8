import path from 'node:path';
import { expect } from 'chai';
import { describeTree, hodOk, sh, tempRoot } from '../helpers.js';

/** A tree with every kind of entry a layer must round-trip, made by shell tools as a user would. */
function populate(dir: string): void {
  const long = 'd'.repeat(90) + '/' + 'n'.repeat(120);
  sh(`set -e; cd '${dir}'
    mkdir -p etc usr/bin srv/data tmpdir '${path.dirname(long)}'
    printf 'root:x:0:0::/root:/bin/sh\\n' > etc/passwd
    printf 'plain' > srv/file; chmod 640 srv/file; chown 1234:5678 srv/file
    printf 'tool' > usr/bin/tool; chmod 4755 usr/bin/tool
    chmod 1777 tmpdir
    ln srv/file srv/hardlink
    ln -s ../srv/file usr/symlink
    ln -s '${'t'.repeat(150)}' usr/longlink
    printf 'long' > '${long}'
    mknod srv/null c 1 3
    mkfifo srv/fifo
    head -c 5000000 /dev/urandom > srv/data/big.bin
    setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 usr/bin/tool
    setfattr -n user.note -v hello srv/file
    chown -h 7:8 usr/symlink
    touch -h -d '2020-02-02 02:02:02Z' usr/symlink srv/file`);
}

for (const driver of ['overlay', 'vfs']) {
  describe(`a layer round-trips exactly (${driver})`, function () {
    let root: string;
    let cleanup: () => void;
    before(() => ({ root, cleanup } = tempRoot()));
    after(() => cleanup());

    it('unpacks with umoci to the tree that was put in', function () {
      const env = { STORAGE_DRIVER: driver };
      const c = hodOk(root, ['from', 'scratch'], { env });
      const mnt = hodOk(root, ['mount', c], { env });
      populate(mnt);
      const want = describeTree(mnt);
      hodOk(root, ['commit', c, 'tree:1'], { env });
      // the committed container still shows the same tree
      expect(describeTree(hodOk(root, ['mount', c], { env }))).to.deep.equal(want);
      const bundle = path.join(root, 'bundle');
      sh(`umoci unpack --image '${root}:localhost/tree:1' '${bundle}' >/dev/null`);
      const got = describeTree(path.join(bundle, 'rootfs'));
      // umoci gives the rootfs dir itself no entry, so compare the entries
      expect([...got.keys()]).to.deep.equal([...want.keys()]);
      for (const [k, v] of want) expect(got.get(k), k).to.equal(v);
      // and a new container from the image sees it too, from the kept unpacked layer
      const c2 = hodOk(root, ['from', 'tree:1'], { env });
      expect(describeTree(hodOk(root, ['mount', c2], { env }))).to.deep.equal(want);
    });
  });
}
