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

  it('makes verb modules load lazily: main.ts imports no verb statically', function () {
    const main = fs.readFileSync(path.join(REPO, 'lib/cli/main.ts'), 'utf8');
    const staticImports = [...main.matchAll(/^import .* from '(.*)';$/gm)].map((m) => m[1]);
    expect(staticImports.every((m) => ['../errors.js', './context.js', './flags.js'].includes(m))).to.equal(true);
  });
});
