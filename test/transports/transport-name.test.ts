import { expect } from 'chai';
import { parseDirName, parseDockerArchiveName, parseLayoutName, parseTransportName, requireTransportName } from '../../lib/pull/transport-name.js';

describe('transport names, split as containers/image splits them', () => {
  const cases: [string, object | undefined][] = [
    ['docker://example.com/a:1', { transport: 'docker', rest: 'example.com/a:1' }],
    ['oci:/tmp/l:v1', { transport: 'oci', rest: '/tmp/l:v1' }],
    ['busybox:1.36', undefined],
    ['busybox:1.36@sha256:' + 'a'.repeat(64), undefined],
    ['localhost:5000/app', undefined],
    ['example.com:5000/app:1', undefined],
  ];
  for (const [name, want] of cases) {
    it(`parses ${name}`, () => expect(parseTransportName(name)).to.deep.equal(want));
  }

  const layout: [string, object][] = [
    ['oci:/tmp/l', { path: '/tmp/l', ref: undefined }],
    ['oci:/tmp/l:v1', { path: '/tmp/l', ref: 'v1' }],
    // the first ":" ends the path, so a ref may hold ":" and "/", as skopeo reads it
    ['oci:/tmp/l:example.com/app:1', { path: '/tmp/l', ref: 'example.com/app:1' }],
    ['oci-archive:x.tar:@2', { path: 'x.tar', index: 2 }],
  ];
  for (const [name, want] of layout) {
    it(`splits ${name}`, () => expect(parseLayoutName(requireTransportName(name))).to.deep.equal(want));
  }

  it('normalises a docker-archive ref as docker save writes RepoTags', () => {
    expect(parseDockerArchiveName(requireTransportName('docker-archive:a.tar:busybox'))).to.deep.equal({ path: 'a.tar', ref: 'docker.io/library/busybox:latest' });
    expect(parseDockerArchiveName(requireTransportName('docker-archive:a.tar:example.com/x/y:2'))).to.deep.equal({ path: 'a.tar', ref: 'example.com/x/y:2' });
    expect(parseDockerArchiveName(requireTransportName('docker-archive:a.tar:@0'))).to.deep.equal({ path: 'a.tar', index: 0 });
    expect(parseDirName(requireTransportName('dir:/a:b'))).to.deep.equal({ path: '/a:b' });
  });

  const bad: [string, RegExp][] = [
    ['docker-daemon:busybox:latest', /docker-daemon: transport is not supported by hod/],
    ['containers-storage:busybox', /not supported/],
    ['ocii:/tmp/x', /unknown transport "ocii:"/],
    ['oci::v1', /needs a path/],
    ['oci:/tmp/l:bad ref', /not a valid image ref/],
    ['oci:/tmp/l:@x', /not a source index/],
    ['docker-archive:a.tar:busybox@sha256:' + 'a'.repeat(64), /by tag, not by digest/],
    ['docker:busybox', /written docker:\/\//],
  ];
  for (const [name, err] of bad) {
    it(`refuses ${name.slice(0, 40)}`, () => {
      expect(() => {
        const t = requireTransportName(name);
        if (t.transport === 'docker-archive') parseDockerArchiveName(t);
        else parseLayoutName(t);
      }).to.throw(err);
    });
  }

  it('asks for a transport where one is required', () => {
    expect(() => requireTransportName('busybox:1')).to.throw(/names no transport/);
  });
});
