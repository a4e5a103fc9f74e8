import fs from 'node:fs';
import { DigestMismatchError, NotFoundError } from '../errors.js';
import { nodeCrypto, tmpName } from './atomic.js';
import type { StorePaths } from './paths.js';

export function sha256(data: Buffer | string): string {
  return 'sha256:' + nodeCrypto().createHash('sha256').update(data).digest('hex');
}

/** Content-addressed blobs under blobs/sha256/. Every write lands by rename; every read of metadata is verified. */
export class BlobStore {
  constructor(private readonly paths: StorePaths) {}

  has(digest: string): boolean {
    return fs.existsSync(this.paths.blob(digest));
  }

  size(digest: string): number {
    return fs.statSync(this.paths.blob(digest)).size;
  }

  /** Store bytes; returns their digest and size. A blob already present is left as it is. */
  put(data: Buffer | string): { digest: string; size: number } {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = sha256(buf);
    const dest = this.paths.blob(digest);
    if (!fs.existsSync(dest)) {
      const tmp = tmpName(this.paths.tmp, 'blob');
      fs.writeFileSync(tmp, buf, { mode: 0o644 });
      fs.renameSync(tmp, dest);
    }
    return { digest, size: buf.length };
  }

  /** Move a staged file whose digest the caller computed while writing it into place. */
  adopt(stagedFile: string, digest: string): void {
    const dest = this.paths.blob(digest);
    if (fs.existsSync(dest)) fs.rmSync(stagedFile, { force: true });
    else fs.renameSync(stagedFile, dest);
  }

  path(digest: string): string {
    return this.paths.blob(digest);
  }

  /** Read a (small) blob whole, checking it against its digest. */
  read(digest: string): Buffer {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.paths.blob(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('blob', digest);
      throw err;
    }
    const actual = sha256(buf);
    if (actual !== digest) throw new DigestMismatchError(`blob ${this.paths.blob(digest)}`, digest, actual);
    return buf;
  }

  readJson<T>(digest: string): T {
    return JSON.parse(this.read(digest).toString('utf8')) as T;
  }

  /**
   * Mark digests as about to be referenced (a commit between writing its layer and naming its image), so a
   * concurrent garbage collection keeps them. The pin file carries our pid: a crash leaves nothing pinned.
   */
  pin(digests: string[]): () => void {
    const file = tmpName(this.paths.tmp, 'pin');
    fs.writeFileSync(file, JSON.stringify(digests));
    return () => fs.rmSync(file, { force: true });
  }

  /** Digests pinned by running hod processes. */
  pinned(): Set<string> {
    const out = new Set<string>();
    for (const name of fs.readdirSync(this.paths.tmp)) {
      if (!name.startsWith('pin-')) continue;
      try {
        for (const d of JSON.parse(fs.readFileSync(`${this.paths.tmp}/${name}`, 'utf8')) as string[]) out.add(d);
      } catch {
        // a pin being written or removed right now
      }
    }
    return out;
  }

  remove(digest: string): void {
    fs.rmSync(this.paths.blob(digest), { force: true });
  }
}
