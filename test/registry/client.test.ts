import { expect } from 'chai';
import { RegistryClient, type ClientOptions } from '../../lib/registry/client.js';
import { digestOf, login, makeImage, randomBlob, readAll, streamOf } from './fixtures.js';
import { breakFirstPatch, startHttpServer, startProxy, startRegistry, type Registry, type RegistryOptions } from './server.js';

const USERS = { alice: 'alice-Pa55' };

/** Each set-up with the client options that reach it. */
const SETUPS: [string, RegistryOptions, (r: Registry) => ClientOptions][] = [
  ['plain HTTP', {}, () => ({ tlsVerify: false })],
  ['TLS with its own CA in certs.d', { tls: true }, (r) => ({ certsDir: r.certsDir })],
  ['TLS demanding a client certificate from certs.d', { tls: true, clientCerts: true }, (r) => ({ certsDir: r.certsDir })],
  ['htpasswd Basic auth', { auth: 'htpasswd', users: USERS }, () => ({ tlsVerify: false, getCredentials: login('alice', USERS.alice) })],
  ['Bearer token auth', { auth: 'token', users: USERS }, () => ({ tlsVerify: false, getCredentials: login('alice', USERS.alice) })],
];

describe('registry client: push and read back', function () {
  this.timeout(60_000);
  for (const [name, setup, clientOpts] of SETUPS) {
    describe(name, function () {
      let reg: Registry;
      let client: RegistryClient;
      before(async () => {
        reg = await startRegistry(setup);
        client = new RegistryClient(reg.host, clientOpts(reg));
      });
      after(async () => {
        await client?.close();
        await reg?.stop();
      });

      it('pushes blobs and a manifest, then reads the same bytes back by tag and by digest', async function () {
        const img = makeImage(name, [5000, 70_000]);
        for (const b of [img.config, ...img.layers]) {
          expect(await client.hasBlob('team/app', b.desc.digest, true)).to.equal(false);
          expect(await client.uploadBlob('team/app', b.desc, streamOf(b.bytes))).to.equal('uploaded');
          expect(await client.hasBlob('team/app', b.desc.digest)).to.equal(true);
        }
        expect(await client.putManifest('team/app', 'v1', img.manifest.bytes, img.manifest.mediaType)).to.equal(img.digest);

        const byTag = await client.getManifest('team/app', 'v1');
        expect(byTag.bytes.equals(img.manifest.bytes)).to.equal(true);
        expect(byTag.mediaType).to.equal(img.manifest.mediaType);
        expect(byTag.digest).to.equal(img.digest);
        expect((await client.getManifest('team/app', img.digest)).bytes.equals(img.manifest.bytes)).to.equal(true);
        expect(await client.manifestDigest('team/app', 'v1')).to.equal(img.digest);
        expect(await client.manifestDigest('team/app', 'v2')).to.equal(undefined);
        for (const b of [img.config, ...img.layers]) {
          expect((await readAll(await client.blob('team/app', b.desc.digest, b.desc.size))).equals(b.bytes)).to.equal(true);
        }
        expect(await client.tags('team/app')).to.deep.equal(['v1']);
      });

      it('says "not found" for a missing manifest and a missing blob', async function () {
        const err = await client.getManifest('team/app', 'nope').then(() => undefined, (e: Error & { status?: number }) => e);
        expect(err?.status).to.equal(404);
        expect(err?.message).to.match(/GET 127\.0\.0\.1:\d+\/v2\/team\/app\/manifests\/nope: not found: MANIFEST_UNKNOWN/);
        const blob = await client.blob('team/app', digestOf(Buffer.from('none'))).then(() => undefined, (e: Error & { status?: number }) => e);
        expect(blob?.status).to.equal(404);
      });
    });
  }
});

describe('registry client: TLS failures', function () {
  this.timeout(60_000);
  it('names certs.d when the CA is unknown, and fails the handshake without the client certificate', async function () {
    const reg = await startRegistry({ tls: true, clientCerts: true });
    const fs = await import('node:fs');
    const path = await import('node:path');
    const noCa = new RegistryClient(reg.host, { certsDir: path.join(reg.dir, 'empty-certs.d') });
    const onlyCa = path.join(reg.dir, 'ca-only.d');
    fs.mkdirSync(path.join(onlyCa, reg.host), { recursive: true });
    fs.copyFileSync(reg.caFile!, path.join(onlyCa, reg.host, 'ca.crt'));
    const noCert = new RegistryClient(reg.host, { certsDir: onlyCa });
    try {
      const e1 = await noCa.ping().then(() => undefined, (e: Error & { code?: string }) => e);
      expect(e1?.code).to.equal('ECONNECT');
      expect(e1?.message).to.contain(`put the CA that signed it in ${path.join(reg.dir, 'empty-certs.d')}/${reg.host}/`);
      const e2 = await noCert.ping().then(() => undefined, (e: Error & { code?: string }) => e);
      expect(e2?.code).to.equal('ECONNECT');
      expect(e2?.message).to.match(new RegExp(`^cannot reach registry ${reg.host.replace(/\./g, '\\.')}: `));
      expect(e2?.message).to.contain(`put client.cert and client.key in ${path.join(onlyCa, reg.host)}/`);
    } finally {
      await noCa.close();
      await noCert.close();
      await reg.stop();
    }
  });
});

describe('registry client: upload paths (plain HTTP registry behind a logging proxy)', function () {
  this.timeout(60_000);
  let reg: Registry;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let client: RegistryClient;
  before(async () => {
    reg = await startRegistry();
    proxy = await startProxy(reg.host, {});
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
  });
  beforeEach(() => {
    proxy.requests.length = 0;
    client = new RegistryClient(proxy.host, { tlsVerify: false, uploadChunkSize: 1 << 20 });
  });
  afterEach(() => client.close());

  const uploads = () => proxy.requests.filter((l) => /^(POST|PATCH|PUT) .*\/blobs\/uploads\//.test(l)).map((l) => l.split(' ')[0]);

  it('sends a blob up to the chunk size in one PUT after the POST', async function () {
    const b = randomBlob(1 << 20, 'mono');
    await client.uploadBlob('up/mono', b.desc, streamOf(b.bytes));
    expect(uploads()).to.deep.equal(['POST', 'PUT']);
    expect(proxy.requests.find((l) => l.startsWith('PUT'))).to.contain(`digest=${encodeURIComponent(b.desc.digest)}`);
  });

  it('sends a multi-MiB blob in PATCH chunks of the chunk size, and it reads back intact', async function () {
    const b = randomBlob(5 * (1 << 20) + 12345, 'chunked');
    await client.uploadBlob('up/chunked', b.desc, streamOf(b.bytes, 300_000));
    expect(uploads()).to.deep.equal(['POST', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'PATCH', 'PUT']);
    const back = await readAll(await client.blob('up/chunked', b.desc.digest, b.desc.size));
    expect(back.length).to.equal(b.bytes.length);
    expect(digestOf(back)).to.equal(b.desc.digest);
  });

  it('streams a blob larger than 8 MiB in one PATCH by default; a PATCH broken halfway fails as retryable and leaves no blob', async function () {
    const streaming = new RegistryClient(proxy.host, { tlsVerify: false, retryDelay: 10 });
    const faulty = await startProxy(reg.host, { fault: breakFirstPatch(2_000_000).fault });
    const broken = new RegistryClient(faulty.host, { tlsVerify: false, retryDelay: 10 });
    try {
      const b = randomBlob(9 * (1 << 20) + 7, 'streamed');
      expect(await streaming.uploadBlob('up/streamed', b.desc, streamOf(b.bytes, 65536))).to.equal('uploaded');
      expect(uploads()).to.deep.equal(['POST', 'PATCH', 'PUT']);
      expect(digestOf(await readAll(await streaming.blob('up/streamed', b.desc.digest, b.desc.size)))).to.equal(b.desc.digest);

      const err = await broken.uploadBlob('up/broken', b.desc, streamOf(b.bytes, 65536)).then(() => undefined, (e: Error & { retryable?: boolean }) => e);
      expect(err?.retryable, err?.message).to.equal(true);
      expect(await broken.hasBlob('up/broken', b.desc.digest)).to.equal(false);
      expect(await broken.uploadBlob('up/broken', b.desc, streamOf(b.bytes, 65536))).to.equal('uploaded');
    } finally {
      await streaming.close();
      await broken.close();
      await faulty.stop();
    }
  });

  it('lets the registry refuse a blob whose bytes do not match the digest, keeping nothing', async function () {
    const b = randomBlob(4000, 'liar');
    const other = randomBlob(4000, 'other');
    const err = await client.uploadBlob('up/liar', b.desc, streamOf(other.bytes)).then(() => undefined, (e: Error & { codes?: string[] }) => e);
    expect(err?.message).to.match(/PUT .*blobs\/uploads.*DIGEST_INVALID/);
    expect(await client.hasBlob('up/liar', b.desc.digest)).to.equal(false);
    expect(await client.hasBlob('up/liar', other.desc.digest)).to.equal(false);
  });

  it('mounts a blob another repository has (201) without sending it, and uploads when the mount is refused (202)', async function () {
    const b = randomBlob(200_000, 'mount');
    await client.uploadBlob('src/app', b.desc, streamOf(b.bytes));
    proxy.requests.length = 0;
    expect(await client.uploadBlob('dst/app', b.desc, streamOf(b.bytes), ['nothing/here', 'src/app'])).to.equal('mounted');
    expect(uploads()).to.deep.equal(['POST', 'POST']);
    expect(proxy.requests[proxy.requests.length - 1]).to.contain(`mount=${encodeURIComponent(b.desc.digest)}&from=src%2Fapp`);
    expect(await client.hasBlob('dst/app', b.desc.digest)).to.equal(true);

    const c = randomBlob(3000, 'no-mount');
    proxy.requests.length = 0;
    expect(await client.uploadBlob('dst/app', c.desc, streamOf(c.bytes), ['src/app'])).to.equal('uploaded');
    // the session the refused mount opened carries the upload: no second POST
    expect(uploads()).to.deep.equal(['POST', 'PUT']);
    expect((await readAll(await client.blob('dst/app', c.desc.digest))).equals(c.bytes)).to.equal(true);
  });

  it('lists tags page by page through the Link header', async function () {
    // Debian's registry 2.8 ignores `n` and sends every tag at once, so a server that pages as the
    // distribution spec says (n, last, Link rel="next") stands in for one that does
    const tags = ['a', 'b', 'c', 'd', 'e'];
    const pager = await startHttpServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/v2/') return void res.writeHead(200).end('{}');
      const n = Number(u.searchParams.get('n') ?? tags.length);
      const rest = tags.filter((t) => t > (u.searchParams.get('last') ?? ''));
      const page = rest.slice(0, n);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (rest.length > n) headers.link = `</v2/tags/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"`;
      res.writeHead(200, headers).end(JSON.stringify({ name: 'tags/app', tags: page }));
    });
    const paged = new RegistryClient(pager.host, { tlsVerify: false });
    try {
      expect(await paged.tags('tags/app', 2)).to.deep.equal(tags);
      expect(pager.requests.filter((l) => l.includes('/tags/list'))).to.deep.equal([
        'GET /v2/tags/app/tags/list?n=2',
        'GET /v2/tags/app/tags/list?n=2&last=b',
        'GET /v2/tags/app/tags/list?n=2&last=d',
      ]);
    } finally {
      await paged.close();
      await pager.stop();
    }
  });
});

describe('registry client: Bearer tokens and scopes', function () {
  this.timeout(60_000);
  let reg: Registry;
  before(async () => {
    reg = await startRegistry({ auth: 'token', users: USERS, identityTokens: { 'idt-7f3a': 'alice' } });
  });
  after(async () => reg?.stop());

  it('asks one token per scope and reuses it; a mount asks for pull on the source repository too', async function () {
    const client = new RegistryClient(reg.host, { tlsVerify: false, getCredentials: login('alice', USERS.alice) });
    try {
      const before = reg.tokenRequests().length;
      const a = randomBlob(1000, 'scope-a');
      await client.uploadBlob('s/one', a.desc, streamOf(a.bytes));
      await client.hasBlob('s/one', a.desc.digest, true);
      await client.hasBlob('s/one', a.desc.digest);
      expect(await client.uploadBlob('s/two', a.desc, streamOf(a.bytes), ['s/one'])).to.equal('mounted');
      const asked = reg.tokenRequests().slice(before);
      // the ping is anonymous; then one token per scope set, each reused
      expect(asked.map((r) => r.scopes)).to.deep.equal([
        ['repository:s/one:pull,push'],
        ['repository:s/one:pull'],
        ['repository:s/two:pull,push', 'repository:s/one:pull'],
      ]);
      expect(asked.every((r) => r.account === 'alice' && r.status === 200)).to.equal(true);
    } finally {
      await client.close();
    }
  });

  it('gets anonymous tokens that allow pull but not push', async function () {
    const alice = new RegistryClient(reg.host, { tlsVerify: false, getCredentials: login('alice', USERS.alice) });
    const anon = new RegistryClient(reg.host, { tlsVerify: false });
    try {
      const img = makeImage('anon');
      for (const b of [img.config, ...img.layers]) await alice.uploadBlob('pub/app', b.desc, streamOf(b.bytes));
      await alice.putManifest('pub/app', '1', img.manifest.bytes, img.manifest.mediaType);
      expect((await anon.getManifest('pub/app', '1')).digest).to.equal(img.digest);
      const err = await anon.putManifest('pub/app', '2', img.manifest.bytes, img.manifest.mediaType).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.code).to.equal('EAUTH');
      expect(err?.message).to.match(/PUT .*manifests.*unauthorized: access to repository:pub\/app:pull,push denied/);
      expect(reg.tokenRequests().some((r) => r.account === null && r.scopes[0] === 'repository:pub/app:pull,push')).to.equal(true);
    } finally {
      await alice.close();
      await anon.close();
    }
  });

  it('exchanges an identity token through the OAuth2 refresh_token grant', async function () {
    const client = new RegistryClient(reg.host, { tlsVerify: false, getCredentials: async () => ({ identityToken: 'idt-7f3a' }) });
    try {
      const b = randomBlob(500, 'idt');
      await client.uploadBlob('idt/app', b.desc, streamOf(b.bytes));
      const last = reg.tokenRequests().at(-1)!;
      expect(last).to.include({ method: 'POST', grant: 'refresh_token', account: 'alice', status: 200 });
    } finally {
      await client.close();
    }
  });

  it('fetches a new token when the registry refuses a cached one with 401', async function () {
    // the registry allows 60 s of clock skew past `exp`: a lifetime of -57 s leaves a token 3 s of use, while
    // the token server claims 300, so the client holds on to a dead token
    const short = await startRegistry({ auth: 'token', users: USERS, tokenLifetime: -57, tokenExpiresIn: 300 });
    const client = new RegistryClient(short.host, { tlsVerify: false, getCredentials: login('alice', USERS.alice) });
    try {
      const b = randomBlob(500, 'expiry');
      await client.uploadBlob('exp/app', b.desc, streamOf(b.bytes));
      const n = short.tokenRequests().length;
      await new Promise((r) => setTimeout(r, 3500));
      expect(await client.hasBlob('exp/app', b.desc.digest, true)).to.equal(true);
      expect(short.tokenRequests().length).to.equal(n + 1);
    } finally {
      await client.close();
      await short.stop();
    }
  });
});
