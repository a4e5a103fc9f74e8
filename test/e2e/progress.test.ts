import { expect } from 'chai';
import { HOD, hod, hodOk, makeBusybox, sh, tempRoot } from '../helpers.js';
import { startRegistry } from '../registry/server.js';

const NO_TLS = '--tls-verify=false';

describe('pull progress on a terminal', function () {
  this.timeout(60_000);
  it('draws bars through a pseudo-terminal (script), lines without one, and nothing with -q', async function () {
    const reg = await startRegistry();
    const a = tempRoot();
    try {
      makeBusybox(a.root, 'tty:1');
      hodOk(a.root, ['push', '-q', NO_TLS, 'tty:1', `docker://${reg.host}/tty/app:1`]);
      const pull = (root: string, extra = '') => `${HOD} --root ${root} pull ${extra} ${NO_TLS} ${reg.host}/tty/app:1`;
      const b = tempRoot();
      const c = tempRoot();
      try {
        // script gives hod a terminal; its transcript holds what the terminal got
        const tty = sh(`script -qec '${pull(b.root)}' /dev/null`);
        expect(tty).to.match(/\x1b\[\d+A/);
        expect(tty).to.match(/Copying blob [0-9a-f]{12} \[=+\] [\d.]+[KM]?i?B \/ [\d.]+[KM]?i?B done/);
        const plain = hod(c.root, ['pull', NO_TLS, `${reg.host}/tty/app:1`]);
        expect(plain.stderr).to.match(/^Copying blob [0-9a-f]{12} done$/m);
        expect(plain.stderr).not.to.contain('\x1b[');
        const quiet = sh(`script -qec '${pull(b.root, '-q')}' /dev/null`);
        expect(quiet.trim()).to.match(/^[0-9a-f]{64}$/);
      } finally {
        b.cleanup();
        c.cleanup();
      }
    } finally {
      a.cleanup();
      await reg.stop();
    }
  });
});
