import { expect } from 'chai';
import { runTool } from '../../lib/store/tool.js';

describe('store/tool', function () {
  it('feeds stdin and collects stdout and stderr as buffers, with the exit code', async function () {
    const r = await runTool('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: Buffer.from([0, 1, 255]) });
    expect(r.exitCode).to.equal(3);
    expect([...r.stdout]).to.deep.equal([0, 1, 255]);
    expect(r.stderr.toString()).to.equal('oops\n');
  });

  it('adds env to the environment rather than replacing it (PATH still finds programs)', async function () {
    const r = await runTool('sh', ['-c', 'echo "$LC_ALL $HOME"'], { env: { LC_ALL: 'C' } });
    expect(r.stdout.toString()).to.equal(`C ${process.env.HOME}\n`);
  });

  it('reports a program that cannot start, and output over maxBuffer', async function () {
    const missing = await runTool('/nonexistent/tool', []);
    expect(missing.exitCode).to.equal(127);
    expect(missing.shortMessage).to.match(/could not start: .*ENOENT/);
    const big = await runTool('head', ['-c', '100000', '/dev/zero'], { maxBuffer: 1000 });
    expect(big.exitCode).to.not.equal(0);
    expect(big.shortMessage).to.contain('larger than 1000 bytes');
  });
});
