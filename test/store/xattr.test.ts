import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import {
  escapeDumpName, formatXattrDump, getXattr, getXattrs, getXattrsTree, mkWhiteouts, mknodMany, parseXattrDump,
  removeXattr, setXattrs, setXattrsMany, unescapeDumpName,
} from '../../lib/store/xattr.js';
import { toByteString } from '../../lib/store/pathsafe.js';
import { isOverlayOpaque, isOverlayWhiteoutPath, isOverlayOpaqueDir, OVERLAY_OPAQUE_XATTR } from '../../lib/store/whiteout.js';

/** security.capability v2 granting cap_net_bind_service and cap_setfcap (bytes >= 0x80 on purpose). */
export const CAPABILITY = Buffer.from('0100000200040080000000000000000000000000', 'hex');

describe('store/xattr', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-xattr-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('dump format', () => {
    it('unescapes octal and leaves everything else raw', () => {
      expect(unescapeDumpName(Buffer.from('a b\\012c\\134d\\075'))).to.deep.equal(Buffer.from('a b\nc\\d='));
      expect(unescapeDumpName(Buffer.from([0x6c, 0xe9]))).to.deep.equal(Buffer.from([0x6c, 0xe9]));
      expect(unescapeDumpName(Buffer.from('\\9x\\'))).to.deep.equal(Buffer.from('\\9x\\'));
    });

    it('escapes what getfattr escapes', () => {
      expect(escapeDumpName(Buffer.from('a\nb\\c\rd=e')).toString()).to.equal('a\\012b\\134c\\015d=e');
      expect(escapeDumpName(Buffer.from('n=v'), true).toString()).to.equal('n\\075v');
    });

    it('parses hex, base64, text and empty values', () => {
      const dump = Buffer.from('# file: /x/a\\012b\nuser.h=0x00ff\nuser.b=0sAP8=\nuser.t="hi"\nuser.e\n\n# file: /y\nuser.z=0x\n');
      const m = parseXattrDump(dump);
      expect([...m.keys()]).to.deep.equal(['/x/a\nb', '/y']);
      expect(m.get('/x/a\nb')).to.deep.equal({
        'user.h': Buffer.from([0, 255]), 'user.b': Buffer.from([0, 255]), 'user.t': Buffer.from('hi'), 'user.e': Buffer.alloc(0),
      });
      expect(m.get('/y')).to.deep.equal({ 'user.z': Buffer.alloc(0) });
    });

    it('formats what it parses', () => {
      const entries = new Map([['/p/with\nnewline and space', { 'user.a=b': Buffer.from([1, 2, 255]) }]]);
      expect(parseXattrDump(formatXattrDump(entries))).to.deep.equal(entries);
    });
  });

  describe('get and set', () => {
    it('sets and reads back on awkward names, in batches', async () => {
      const names = ['plain', 'with space ', 'new\nline', 'back\\slash', 'eq=ual'];
      for (const n of names) fs.writeFileSync(path.join(tmp, n), '');
      fs.mkdirSync(path.join(tmp, 'sub'));
      fs.symlinkSync('nowhere', path.join(tmp, 'sub', 'dangling'));
      const want = new Map<string, Record<string, Buffer>>();
      for (const n of names) want.set(path.join(tmp, n), { 'user.v': Buffer.from(n), 'user.bin': Buffer.from([0, 0x80, 0xff]) });
      want.set(path.join(tmp, 'sub', 'dangling'), { 'trusted.t': Buffer.from('y') }); // on the link itself
      want.set(path.join(tmp, 'plain'), { 'security.capability': CAPABILITY, 'user.with=eq': Buffer.alloc(0) });
      await setXattrsMany(want);
      const got = await getXattrsTree(tmp);
      expect(got).to.deep.equal(want);
      expect(await getXattrs(path.join(tmp, 'new\nline'))).to.deep.equal(want.get(path.join(tmp, 'new\nline')));
      expect(await getXattr(path.join(tmp, 'plain'), 'security.capability')).to.deep.equal(CAPABILITY);
      expect(await getXattr(path.join(tmp, 'plain'), 'user.absent')).to.equal(undefined);
      expect(await getXattrs(path.join(tmp, 'sub'))).to.deep.equal({});
      await removeXattr(path.join(tmp, 'plain'), 'user.with=eq');
      await removeXattr(path.join(tmp, 'plain'), 'user.with=eq');
      expect(Object.keys(await getXattrs(path.join(tmp, 'plain')))).to.deep.equal(['security.capability']);
    });

    it('handles names that are not UTF-8 as byte strings', async () => {
      const raw = Buffer.concat([Buffer.from(tmp + '/caf'), Buffer.from([0xe9])]);
      fs.writeFileSync(raw, '');
      const p = raw.toString('latin1');
      await setXattrsMany([[p, { 'user.x': Buffer.from('1') }]], { encoding: 'latin1' });
      const got = await getXattrsTree(toByteString(tmp), { encoding: 'latin1' });
      expect(got.get(p)).to.deep.equal({ 'user.x': Buffer.from('1') });
    });

    it('reports failures', async () => {
      let err: unknown;
      try {
        await setXattrs(path.join(tmp, 'missing'), { 'user.x': Buffer.from('1') });
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error).with.property('code', 'ESYSTEM');
    });
  });

  describe('mknod', () => {
    it('creates devices and fifos with exact modes in one batch', async () => {
      const weird = Buffer.concat([Buffer.from(tmp + "/it's "), Buffer.from([0xff])]).toString('latin1');
      await mknodMany([
        { path: toByteString(path.join(tmp, 'null')), kind: 'char', major: 1, minor: 3, mode: 0o666 },
        { path: toByteString(path.join(tmp, 'loop0')), kind: 'block', major: 7, minor: 0, mode: 0o660 },
        { path: toByteString(path.join(tmp, 'fifo')), kind: 'fifo', mode: 0o4755 },
        { path: weird, kind: 'fifo', mode: 0o600 },
      ], { encoding: 'latin1' });
      const n = fs.lstatSync(path.join(tmp, 'null'));
      expect(n.isCharacterDevice()).to.equal(true);
      expect(n.rdev).to.equal(259); // makedev(1, 3)
      expect(n.mode & 0o7777).to.equal(0o666);
      const b = fs.lstatSync(path.join(tmp, 'loop0'));
      expect(b.isBlockDevice()).to.equal(true);
      expect(b.rdev).to.equal(7 << 8);
      const f = fs.lstatSync(path.join(tmp, 'fifo'));
      expect(f.isFIFO()).to.equal(true);
      expect(f.mode & 0o7777).to.equal(0o4755);
      expect(fs.lstatSync(Buffer.from(weird, 'latin1')).isFIFO()).to.equal(true);
    });

    it('creates overlay whiteouts, recognised as such', async () => {
      await mkWhiteouts([path.join(tmp, 'gone'), path.join(tmp, 'gone too')]);
      expect(isOverlayWhiteoutPath(path.join(tmp, 'gone'))).to.equal(true);
      expect(isOverlayWhiteoutPath(path.join(tmp, 'gone too'))).to.equal(true);
      expect(fs.lstatSync(path.join(tmp, 'gone')).mode & 0o7777).to.equal(0);
      expect(isOverlayWhiteoutPath(path.join(tmp, 'absent'))).to.equal(false);
      fs.mkdirSync(path.join(tmp, 'opq'));
      await setXattrs(path.join(tmp, 'opq'), { [OVERLAY_OPAQUE_XATTR]: Buffer.from('y') });
      expect(await isOverlayOpaqueDir(path.join(tmp, 'opq'))).to.equal(true);
      expect(isOverlayOpaque({ [OVERLAY_OPAQUE_XATTR]: Buffer.from('x') })).to.equal(false);
    });

    it('fails when the node exists', async () => {
      fs.writeFileSync(path.join(tmp, 'f'), '');
      let err: unknown;
      try {
        await mknodMany([{ path: path.join(tmp, 'f'), kind: 'fifo' }]);
      } catch (e) { err = e; }
      expect(err).to.be.instanceOf(Error).with.property('message').that.match(/File exists/);
    });
  });
});
