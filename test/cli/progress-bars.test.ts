import { expect } from 'chai';
import { progressBars } from '../../lib/cli/progress-bars.js';
import type { Descriptor } from '../../lib/image/types.js';

const blob = (hex: string, size: number): Descriptor => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${hex.repeat(64 / hex.length)}`, size });

/** The screen the writes leave, interpreting the only sequences the bars use: cursor up and clear line. */
function screen(out: string): string[] {
  const lines: string[] = [];
  let row = 0;
  for (const m of out.matchAll(/\x1b\[(\d+)A|\r\x1b\[2K([^\n]*)\n/g)) {
    if (m[1]) row -= Number(m[1]);
    else lines[row++] = m[2];
  }
  return lines;
}

describe('progress bars on a terminal', function () {
  it('draws one line per blob, redraws in place, and leaves every blob in its final state', async function () {
    let out = '';
    const bars = progressBars((s) => (out += s), 100);
    const a = blob('a', 4 << 20);
    const b = blob('b', 1000);
    const c = blob('c', 10);
    bars({ kind: 'start', desc: a });
    bars({ kind: 'skip', desc: c });
    bars({ kind: 'start', desc: b });
    bars({ kind: 'bytes', desc: a, done: 1 << 20 });
    await new Promise((r) => setTimeout(r, 150));
    let s = screen(out);
    expect(s).to.have.length(3);
    expect(s[0]).to.match(/^Copying blob aaaaaaaaaaaa \[=+> +\] 1\.0MiB \/ 4\.0MiB$/);
    expect(s[1]).to.equal('Copying blob cccccccccccc skipped: already exists');
    expect(s[2]).to.match(/^Copying blob bbbbbbbbbbbb \[> +\] 0B \/ 1000B$/);
    bars({ kind: 'done', desc: b });
    bars({ kind: 'bytes', desc: a, done: 3 << 20 });
    bars({ kind: 'done', desc: a });
    s = screen(out);
    expect(s).to.have.length(3);
    expect(s[0]).to.match(/^Copying blob aaaaaaaaaaaa \[=+\] 4\.0MiB \/ 4\.0MiB done$/);
    expect(s[2]).to.match(/^Copying blob bbbbbbbbbbbb \[=+\] 1000B \/ 1000B done$/);
    expect(s.every((l) => l.length < 100)).to.equal(true);
  });

  it('keeps lines within a narrow terminal', function () {
    let out = '';
    const bars = progressBars((s) => (out += s), 40);
    bars({ kind: 'start', desc: blob('d', 5 << 20) });
    expect(screen(out)[0].length).to.be.at.most(39);
  });
});
