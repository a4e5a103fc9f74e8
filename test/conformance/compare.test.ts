/**
 * The conformance suite's comparison code, on made-up inputs: it must see every kind of difference it claims to,
 * and a known difference must explain only what it names. (The self-test, HOD_CONFORMANCE_SELFTEST=1, shows
 * the other half: two equal builds give no difference.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { sh, tempRoot } from '../helpers.js';
import { diffImages, diffTrees, listTree, partition, summarise, type ImageSummary } from './compare.js';

function image(config: Record<string, unknown>, opts: { layers?: number; history?: { created_by?: string; empty_layer?: boolean }[]; author?: string } = {}): ImageSummary {
  const layers = Array.from({ length: opts.layers ?? 1 }, (_, i) => ({ digest: `sha256:${String(i).repeat(64)}` }));
  return summarise({ config: { digest: `sha256:${'a'.repeat(64)}` }, layers }, { config, history: opts.history ?? [{}], author: opts.author });
}

describe('conformance: the comparison itself', function () {
  it('normalises missing, null, empty string and empty collections to null', function () {
    const a = image({ Cmd: null, Entrypoint: [], WorkingDir: '', Labels: {} });
    const b = image({});
    expect(diffImages(a, b)).to.deep.equal([]);
    expect(a.config.Cmd).to.equal(null);
  });

  it('sees config, author, layer and history differences, one line each, map fields per key', function () {
    const a = image({ Env: ['PATH=/bin', 'A=1'], Labels: { x: '1', same: 's' }, ExposedPorts: { '80/tcp': {} } }, { layers: 2, history: [{}, { created_by: 'RUN x' }], author: 'me' });
    const b = image({ Env: ['A=1', 'PATH=/bin'], Labels: { same: 's', y: '2' }, User: 'app' }, { layers: 3, history: [{}, { created_by: 'RUN x' }, { empty_layer: true }] });
    const fields = diffImages(a, b).map((d) => d.field);
    expect(fields).to.include.members(['Env', 'User', 'Labels.x', 'Labels.y', 'ExposedPorts.80/tcp', 'Author', 'layers', 'history']);
    expect(fields).not.to.include('Labels.same');
    expect(fields).not.to.include('nonEmptyHistory'); // 2 non-empty on both sides
    expect(diffImages(a, b).find((d) => d.field === 'Env')!.line).to.equal('Env: buildah ["PATH=/bin","A=1"], hod ["A=1","PATH=/bin"]');
  });

  it('sees tree differences: missing entries, mode, owner, content, link target, hard links', function () {
    const { root, cleanup } = tempRoot('hod-conformance-compare-');
    try {
      for (const side of ['a', 'b']) {
        const d = path.join(root, side);
        fs.mkdirSync(path.join(d, 'dir'), { recursive: true });
        fs.writeFileSync(path.join(d, 'same'), 'x');
        fs.writeFileSync(path.join(d, 'content'), side);
        fs.writeFileSync(path.join(d, 'mode'), 'm');
        fs.chmodSync(path.join(d, 'mode'), side === 'a' ? 0o644 : 0o600);
        fs.writeFileSync(path.join(d, 'owner'), 'o');
        fs.chownSync(path.join(d, 'owner'), side === 'a' ? 0 : 1, 0);
        fs.symlinkSync(side === 'a' ? 'same' : 'content', path.join(d, 'link'));
        fs.writeFileSync(path.join(d, `only-${side}`), '');
        fs.writeFileSync(path.join(d, 'h1'), 'h');
        if (side === 'a') fs.linkSync(path.join(d, 'h1'), path.join(d, 'h2'));
        else fs.writeFileSync(path.join(d, 'h2'), 'h');
      }
      sh(`touch -d 2001-01-01 '${root}/a/same'`); // times are not compared
      const diffs = diffTrees(listTree(path.join(root, 'a')), listTree(path.join(root, 'b')));
      expect(diffs.map((d) => d.field).sort()).to.deep.equal(['file:/content', 'file:/h2', 'file:/link', 'file:/mode', 'file:/only-a', 'file:/only-b', 'file:/owner'].sort());
      expect(diffs.find((d) => d.field === 'file:/only-a')!.line).to.match(/only in buildah/);
      expect(diffs.find((d) => d.field === 'file:/mode')!.line).to.match(/0644.*0600/);
    } finally {
      cleanup();
    }
  });

  it('a known difference explains its field and what is under it, or only the field when exact', function () {
    const diffs = [
      { field: 'Labels.io.buildah.version', line: '' },
      { field: 'Labels.other', line: '' },
      { field: 'file:/etc', line: '' },
      { field: 'file:/etc/passwd', line: '' },
      { field: 'file:/run', line: '' },
      { field: 'file:/run/x', line: '' },
      { field: 'file:/runner', line: '' },
    ];
    const { unexplained, explained } = partition(diffs, [
      { field: 'Labels.io.buildah.version', why: 'w' },
      { field: 'file:/etc', why: 'w', exact: true },
      { field: 'file:/run', why: 'w' },
    ]);
    expect(unexplained.map((d) => d.field)).to.deep.equal(['Labels.other', 'file:/etc/passwd', 'file:/runner']);
    expect(explained.map((e) => e.d.field)).to.deep.equal(['Labels.io.buildah.version', 'file:/etc', 'file:/run', 'file:/run/x']);
  });
});
