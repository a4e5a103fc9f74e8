import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { HodError } from '../../lib/errors.js';
import {
  PathEscapeError, cleanRelative, fromByteString, isWithin, safeJoin, toByteString,
} from '../../lib/store/pathsafe.js';

describe('store/pathsafe', () => {
  let tmp: string;
  let root: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-pathsafe-'));
    root = path.join(tmp, 'root');
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.mkdirSync(path.join(root, 'etc'));
    fs.mkdirSync(path.join(tmp, 'outside'));
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root');
    fs.symlinkSync('usr/lib', path.join(root, 'lib')); // relative, inside
    fs.symlinkSync('/usr/lib', path.join(root, 'abslib')); // absolute: inside only under chroot
    fs.symlinkSync('../../outside', path.join(root, 'usr/up')); // climbs above root
    fs.symlinkSync('/', path.join(root, 'slash'));
    fs.symlinkSync('loop2', path.join(root, 'loop1'));
    fs.symlinkSync('loop1', path.join(root, 'loop2'));
    fs.symlinkSync('../etc/passwd', path.join(root, 'usr/pw')); // a file link
    fs.symlinkSync('lib/../etc', path.join(root, 'dotdot')); // .. after a symlink is physical: usr/etc
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('cleanRelative', () => {
    const cases: Array<[string, string[]]> = [
      ['a/b/c', ['a', 'b', 'c']],
      ['/a//b/./c/', ['a', 'b', 'c']],
      ['./a/../b', ['b']],
      ['.', []],
      ['/', []],
    ];
    for (const [input, want] of cases) {
      it(`cleans ${JSON.stringify(input)}`, () => expect(cleanRelative(input)).to.deep.equal(want));
    }
    for (const bad of ['..', '../x', 'a/../../x', '/../x']) {
      it(`refuses ${JSON.stringify(bad)}`, () => expect(() => cleanRelative(bad)).to.throw(PathEscapeError));
    }
  });

  describe('safeJoin (contain: chroot semantics)', () => {
    const cases: Array<[string, string]> = [
      ['etc/passwd', 'etc/passwd'],
      ['/etc/passwd', 'etc/passwd'],
      ['lib/x.so', 'usr/lib/x.so'],
      ['abslib/x.so', 'usr/lib/x.so'],
      ['../../etc/passwd', 'etc/passwd'],
      ['usr/up/x', 'outside/x'], // ../../outside from usr: clamped at root
      ['slash/etc/passwd', 'etc/passwd'],
      ['dotdot/x', 'usr/etc/x'],
      ['missing/a/../b', 'missing/b'],
      ['lib', 'lib'], // the last component is not followed
      ['', ''],
    ];
    for (const [input, want] of cases) {
      it(`${JSON.stringify(input)} -> root/${want}`, () => {
        expect(safeJoin(root, input)).to.equal(want ? path.join(root, want) : root);
      });
    }

    it('follows the last component on request', () => {
      expect(safeJoin(root, 'lib', { followFinal: true })).to.equal(path.join(root, 'usr/lib'));
      expect(safeJoin(root, 'usr/pw', { followFinal: true })).to.equal(path.join(root, 'etc/passwd'));
      expect(safeJoin(root, 'slash', { followFinal: true })).to.equal(root);
    });

    it('reports symlink loops', () => {
      expect(() => safeJoin(root, 'loop1/x')).to.throw(HodError).with.property('code', 'ELOOP');
    });

    it('always returns a path under root', () => {
      for (const p of ['../../../../..', 'slash/../..', 'usr/up/../../..', 'abslib/../../../..']) {
        expect(isWithin(root, safeJoin(root, p, { followFinal: true }))).to.equal(true, p);
      }
    });

    it('trusts knownDirs without lstat', () => {
      const known = new Set([path.join(root, 'lib')]); // pretend lib is a plain directory
      expect(safeJoin(root, 'lib/x', { knownDirs: known })).to.equal(path.join(root, 'lib/x'));
    });
  });

  describe('safeJoin (refuse: host semantics)', () => {
    const ok: Array<[string, string]> = [
      ['etc/passwd', 'etc/passwd'],
      ['lib/x.so', 'usr/lib/x.so'],
      ['dotdot/x', 'usr/etc/x'],
      ['slash', 'slash'], // not followed: fine to replace
    ];
    for (const [input, want] of ok) {
      it(`accepts ${JSON.stringify(input)}`, () => {
        expect(safeJoin(root, input, { escapes: 'refuse' })).to.equal(path.join(root, want));
      });
    }
    for (const bad of ['../x', 'a/../../x', 'abslib/x', 'slash/etc/passwd', 'usr/up/x']) {
      it(`refuses ${JSON.stringify(bad)}`, () => {
        expect(() => safeJoin(root, bad, { escapes: 'refuse' })).to.throw(PathEscapeError);
      });
    }
    it('refuses following a final absolute symlink on request', () => {
      expect(() => safeJoin(root, 'slash', { escapes: 'refuse', followFinal: true })).to.throw(PathEscapeError, /absolute/);
    });
  });

  it('handles byte-string names that are not UTF-8', () => {
    const dirBytes = Buffer.from([0x64, 0xe9]); // "d\xe9", latin1, invalid UTF-8
    fs.mkdirSync(Buffer.concat([Buffer.from(root + '/'), dirBytes]));
    fs.symlinkSync(dirBytes, Buffer.concat([Buffer.from(root + '/'), Buffer.from('tolatin')]));
    const r = toByteString(root);
    const got = safeJoin(r, 'tolatin/f', { encoding: 'latin1', escapes: 'refuse' });
    expect(Buffer.from(got, 'latin1')).to.deep.equal(Buffer.concat([Buffer.from(root + '/'), dirBytes, Buffer.from('/f')]));
    expect(fromByteString(toByteString('ünï'))).to.equal('ünï');
  });
});
