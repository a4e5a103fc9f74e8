import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { capabilities, DEFAULT_CAPABILITIES } from '../../lib/run/spec.js';
import { resolveUser } from '../../lib/run/user.js';

describe('run: users and capabilities', function () {
  let rootfs: string;
  beforeEach(() => {
    rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-user-'));
    fs.mkdirSync(path.join(rootfs, 'etc'));
  });
  afterEach(() => fs.rmSync(rootfs, { recursive: true, force: true }));

  it('resolves names and numbers, with the primary group first and the supplementary ones', function () {
    fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n# comment\nweb:x:33:33:www:/var/www:/bin/sh\n');
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nwww:x:33:\nlogs:x:4:web\nstaff:x:50:other,web\n');
    expect(resolveUser(rootfs, undefined)).to.deep.equal({ uid: 0, gid: 0, additionalGids: [0], home: '/root' });
    expect(resolveUser(rootfs, 'web')).to.deep.equal({ uid: 33, gid: 33, additionalGids: [33, 4, 50], home: '/var/www' });
    expect(resolveUser(rootfs, '33:logs')).to.deep.equal({ uid: 33, gid: 4, additionalGids: [4], home: '/var/www' });
    expect(resolveUser(rootfs, '4242')).to.deep.equal({ uid: 4242, gid: 0, additionalGids: [0], home: '/' });
    expect(() => resolveUser(rootfs, 'web:nogroup')).to.throw(/group "nogroup" is not in the container's \/etc\/group/);
  });

  it('reads /etc/passwd inside the root filesystem even through an absolute symlink', function () {
    fs.symlinkSync('/etc/passwd-real', path.join(rootfs, 'etc/passwd'));
    fs.writeFileSync(path.join(rootfs, 'etc/passwd-real'), 'svc:x:700:700::/srv:/bin/sh\n');
    expect(resolveUser(rootfs, 'svc').uid).to.equal(700);
    // the host's /etc/passwd has root; a link to it resolves inside the root filesystem, which has none
    fs.rmSync(path.join(rootfs, 'etc/passwd'));
    fs.rmSync(path.join(rootfs, 'etc/passwd-real'));
    fs.symlinkSync('../../../../../../etc/passwd', path.join(rootfs, 'etc/passwd'));
    expect(() => resolveUser(rootfs, 'root')).to.throw(/user "root" is not in the container's \/etc\/passwd/);
  });

  it('adds and drops capabilities from the default set', function () {
    expect(capabilities()).to.deep.equal(DEFAULT_CAPABILITIES);
    const c = capabilities(['net_admin', 'CAP_SYS_PTRACE'], ['chown', 'CAP_KILL']);
    expect(c).to.include.members(['CAP_NET_ADMIN', 'CAP_SYS_PTRACE']);
    expect(c).not.to.include.members(['CAP_CHOWN', 'CAP_KILL']);
    expect(capabilities(['setuid'], ['all'])).to.deep.equal(['CAP_SETUID']);
  });
});

describe('run: seccomp profile for this host', function () {
  it('keeps the rules for this architecture and these capabilities, with the sub-architectures', async function () {
    const { seccompFor } = await import('../../lib/run/seccomp.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hod-seccomp-'));
    try {
      const file = path.join(dir, 'p.json');
      fs.writeFileSync(file, JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38,
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW', includes: {}, excludes: {} },
          { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, excludes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
          { names: ['future'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '99.0' } },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        ],
      }));
      const plain = seccompFor(file, ['CAP_CHOWN']) as { architectures: string[]; syscalls: { names: string[]; action: string; errnoRet?: number }[]; defaultErrnoRet: number };
      expect(plain.defaultErrnoRet).to.equal(38);
      const names = plain.syscalls.map((s) => `${s.names[0]}:${s.action}`);
      expect(names).to.include.members(['read:SCMP_ACT_ALLOW', 'mount:SCMP_ACT_ERRNO', 'personality:SCMP_ACT_ALLOW']);
      expect(names).not.to.include('future:SCMP_ACT_ALLOW');
      if (process.arch === 'x64') {
        expect(plain.architectures).to.deep.equal(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
        expect(names).to.include('arch_prctl:SCMP_ACT_ALLOW');
      }
      const admin = seccompFor(file, ['CAP_SYS_ADMIN']) as { syscalls: { names: string[]; action: string }[] };
      expect(admin.syscalls.filter((s) => s.names[0] === 'mount').map((s) => s.action)).to.deep.equal(['SCMP_ACT_ALLOW']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
