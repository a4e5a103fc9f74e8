import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { REPO } from './helpers.js';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('architecture', function () {
  it('keeps the library free of the CLI: nothing outside lib/cli imports yargs, chalk or lib/cli', function () {
    const offenders = sources(path.join(REPO, 'lib'))
      .filter((f) => !f.includes(`${path.sep}cli${path.sep}`))
      .filter((f) => /from '(yargs|yargs-parser|chalk)'|from '\.\.\/cli\//.test(fs.readFileSync(f, 'utf8')));
    expect(offenders).to.deep.equal([]);
  });

  it('makes verb modules load lazily: main.ts and dispatch.ts import no verb statically', function () {
    for (const [file, allowed] of [
      ['lib/cli/main.ts', ['../errors.js', './dispatch.js', './verbs.js']],
      ['lib/cli/dispatch.ts', ['../errors.js', './context.js', './flags.js', './verbs.js']],
    ] as const) {
      const text = fs.readFileSync(path.join(REPO, file), 'utf8');
      const statics = [...text.matchAll(/^import (?!type ).* from '(.*)';$/gm)].map((m) => m[1]);
      expect(statics.filter((m) => !m.startsWith('node:') && !(allowed as readonly string[]).includes(m)), file).to.deep.equal([]);
    }
  });

  it('builds a one-file bundle for every verb and alias, and bin/hod.cjs knows which global flags take values', async function () {
    const { VERBS, ALIASES } = await import('../lib/cli/verbs.js');
    for (const v of [...Object.keys(VERBS), ...Object.keys(ALIASES)]) {
      expect(fs.existsSync(path.join(REPO, 'dist', 'cli', `${v}.cjs`)), v).to.equal(true);
    }
    const { GLOBAL_FLAGS } = await import('../lib/cli/flags.js');
    const valued = Object.entries(GLOBAL_FLAGS).filter(([, f]) => f.type !== 'boolean').map(([n]) => `'--${n}'`);
    const bin = fs.readFileSync(path.join(REPO, 'bin', 'hod.cjs'), 'utf8');
    expect(/VALUE_FLAGS = \[(.*)\];/.exec(bin)?.[1].split(', ')).to.have.members(valued);
    const { NEEDS_USERNS } = await import('../lib/cli/verbs.js');
    expect(/NEEDS_USERNS = \[(.*)\];/.exec(bin)?.[1].split(', ')).to.deep.equal(NEEDS_USERNS.map((v) => `'${v}'`));
  });
});
