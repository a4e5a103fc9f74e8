/**
 * The blob upload protocol: a cross-repository mount when a repository the user names has the blob; else
 * an upload session closed by `PUT ?digest=`, which makes the registry check the bytes. A blob that fits in
 * one chunk goes up with that PUT; a larger one streams in one PATCH, or, when the user sets a chunk size,
 * in PATCH chunks, each kept in memory so that a chunk whose request fails can be sent again from where the
 * registry says it stopped (`GET` on the session: `Range`). A broken streamed PATCH fails the upload as
 * retryable: the copy engine then starts the blob again from its source.
 */
import { Readable } from 'node:stream';
import type { Descriptor } from '../image/types.js';
import type { RegistryClient } from './client.js';
import { RegistryError } from './registry-error.js';
import { pullScope, pushScope } from './scope.js';

export type UploadResult = 'mounted' | 'uploaded';

const OCTETS = { 'content-type': 'application/octet-stream' };

export async function uploadBlob(client: RegistryClient, repo: string, desc: Descriptor, data: Readable, mountFrom: string[]): Promise<UploadResult> {
  const session: { location?: string } = {};
  try {
    for (const from of mountFrom) {
      const r = await tryMount(client, repo, desc.digest, from);
      if (r === 'mounted') {
        data.destroy();
        return 'mounted';
      }
      if (r !== undefined) {
        // 202: the registry opened an upload session instead; keep the last one, drop the others
        if (session.location) await cancel(client, repo, session.location);
        session.location = r;
      }
    }
    session.location ??= await startUpload(client, repo);
    if (!client.chunked && desc.size > client.chunkSize) {
      // known to be large: stream it at once, rather than read a chunk first to find out
      await patchStream(client, repo, session, data);
      await closingPut(client, repo, desc.digest, session, Buffer.alloc(0), false);
      return 'uploaded';
    }
    const reader = chunkReader(data, client.chunkSize);
    const first = (await reader.next()) ?? Buffer.alloc(0);
    if (reader.ended) {
      await closingPut(client, repo, desc.digest, session, first, true);
      return 'uploaded';
    }
    if (!client.chunked) {
      await patchStream(client, repo, session, (async function* () {
        yield first;
        yield* reader.rest();
      })());
      await closingPut(client, repo, desc.digest, session, Buffer.alloc(0), false);
      return 'uploaded';
    }
    let offset = 0;
    for (let chunk: Buffer | undefined = first; chunk; chunk = await reader.next()) {
      session.location = await patchChunk(client, repo, session.location, chunk, offset);
      offset += chunk.length;
    }
    await closingPut(client, repo, desc.digest, session, Buffer.alloc(0), false);
    return 'uploaded';
  } catch (err) {
    data.destroy();
    if (session.location) await cancel(client, repo, session.location);
    throw err;
  }
}

/** 'mounted' (201), the Location of the session a 202 opened, or undefined when `from` is not readable. */
async function tryMount(client: RegistryClient, repo: string, digest: string, from: string): Promise<'mounted' | string | undefined> {
  const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  try {
    const res = await client.send({ method: 'POST', path, scope: [pushScope(repo), pullScope(from)] }, [201, 202]);
    await res.body.dump();
    return res.statusCode === 201 ? 'mounted' : client.location(res);
  } catch (err) {
    // no pull access to `from` (the token server left the scope out), or no such repository: upload instead
    if (err instanceof RegistryError && (err.code === 'EAUTH' || err.status === 404)) return undefined;
    throw err;
  }
}

async function startUpload(client: RegistryClient, repo: string): Promise<string> {
  const res = await client.send({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, scope: pushScope(repo) }, [202]);
  await res.body.dump();
  return client.location(res);
}

/**
 * The closing PUT `?digest=`, with the whole blob (`restart`: a failed one is sent again in a new session)
 * or with nothing after PATCHes. After a retryable failure it is sent again unless the blob landed anyway.
 */
async function closingPut(client: RegistryClient, repo: string, digest: string, session: { location?: string }, body: Buffer, restart: boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await client.send({ method: 'PUT', path: withQuery(session.location!, 'digest', digest), headers: OCTETS, body, scope: pushScope(repo), retry: 0 }, [201, 204]);
      await res.body.dump();
      return;
    } catch (err) {
      if (!client.isRetryable(err) || attempt >= client.retry) throw err;
      await client.backoff(attempt);
      if (await client.hasBlob(repo, digest, true)) return;
      if (restart) session.location = await startUpload(client, repo);
    }
  }
}

/** PATCH one chunk at `offset`; returns the session's next Location. */
async function patchChunk(client: RegistryClient, repo: string, location: string, chunk: Buffer, offset: number): Promise<string> {
  let sent = 0;
  for (let attempt = 0; ; attempt++) {
    const part = chunk.subarray(sent);
    const range = `${offset + sent}-${offset + chunk.length - 1}`;
    try {
      const res = await client.send({ method: 'PATCH', path: location, headers: { ...OCTETS, 'content-range': range }, body: part, scope: pushScope(repo), retry: 0 }, [202, 204]);
      await res.body.dump();
      return client.location(res);
    } catch (err) {
      if (!client.isRetryable(err) || attempt >= client.retry) throw err;
      await client.backoff(attempt);
      // a PATCH that broke may have left part of the chunk behind: ask how much the session holds
      const status = await uploadStatus(client, repo, location);
      const held = (status.end === 0 && offset === 0 ? 0 : status.end + 1) - offset;
      if (held < 0 || held > chunk.length) {
        throw new RegistryError(`uploading to ${client.host}/${repo}: the registry holds ${status.end + 1} bytes of the upload, expected ${offset} to ${offset + chunk.length}`, { retryable: true });
      }
      location = status.location ?? location;
      sent = held;
      if (sent === chunk.length) return location;
    }
  }
}

/** The whole blob in one PATCH, sent as it is read. */
async function patchStream(client: RegistryClient, repo: string, session: { location?: string }, data: AsyncIterable<Buffer>): Promise<void> {
  const body = data instanceof Readable ? data : Readable.from(data, { objectMode: false });
  const res = await client.send({ method: 'PATCH', path: session.location!, headers: OCTETS, body, scope: pushScope(repo), retry: 0 }, [202, 204]);
  await res.body.dump();
  session.location = client.location(res);
}

/** `GET` on an upload session: the last byte it holds (`Range: 0-N`) and its next Location. */
async function uploadStatus(client: RegistryClient, repo: string, location: string): Promise<{ end: number; location?: string }> {
  const res = await client.send({ method: 'GET', path: location, scope: pushScope(repo) }, [204, 200]);
  await res.body.dump();
  const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ''));
  if (!m) throw new RegistryError(`uploading to ${client.host}/${repo}: the upload session gave no Range`, { retryable: true });
  return { end: Number(m[1]), location: res.headers.location ? client.location(res) : undefined };
}

/** Abandon a session; one that is not cancelled expires on its own. */
async function cancel(client: RegistryClient, repo: string, location: string): Promise<void> {
  try {
    const res = await client.send({ method: 'DELETE', path: location, scope: pushScope(repo), retry: 0 }, [200, 202, 204, 404]);
    await res.body.dump();
  } catch {
    // best effort
  }
}

function withQuery(loc: string, key: string, value: string): string {
  return `${loc}${loc.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

/** Read a stream in chunks of exactly `size` bytes (the last may be shorter). */
export function chunkReader(data: Readable, size: number): { next(): Promise<Buffer | undefined>; rest(): AsyncIterable<Buffer>; readonly ended: boolean } {
  const it = data[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let pending: Buffer[] = [];
  let have = 0;
  let eof = false;
  return {
    get ended() {
      return eof && have === 0;
    },
    async next() {
      // one read past `size`, so that a stream of exactly `size` bytes is known to have ended
      while (!eof && have <= size) {
        const r = await it.next();
        if (r.done) {
          eof = true;
          break;
        }
        const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
        pending.push(b);
        have += b.length;
      }
      if (have === 0) return undefined;
      const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      const rest = all.subarray(size);
      pending = rest.length ? [rest] : [];
      have = rest.length;
      return all.subarray(0, size);
    },
    /** Everything not read yet, as it comes (for a streamed upload after the first chunk). */
    async *rest() {
      yield* pending;
      pending = [];
      have = 0;
      while (!eof) {
        const r = await it.next();
        if (r.done) eof = true;
        else yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      }
    },
  };
}
