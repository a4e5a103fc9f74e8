/**
 * The build cache: each step's image, found again by a key made of everything the step's result depends on
 * (the parent image, the expanded instruction, the build arguments it sees, and for COPY/ADD a digest of the
 * sources). Entries are small files under `<store>/build-cache/` naming an image id; an entry whose image has
 * been removed is simply a miss. The file-hash memo of source-digest.ts lives there too.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readJsonIfExists, writeFileAtomic } from '../store/atomic.js';
import type { Store } from '../store/store.js';
import type { HashCache } from '../builder/source-digest.js';

export function cacheKey(parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class BuildCache {
  private readonly dir: string;
  private hashes: Map<string, string> | undefined;
  private hashesChanged = false;

  constructor(private readonly store: Store) {
    this.dir = path.join(store.paths.root, 'build-cache');
  }

  /** The image id cached for `key`, if that image is still in the store. */
  lookup(key: string): string | undefined {
    let id: string;
    try {
      id = fs.readFileSync(path.join(this.dir, key), 'utf8').trim();
    } catch {
      return undefined;
    }
    return this.store.images.find(id)?.id;
  }

  record(key: string, imageId: string): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, key), imageId, this.store.paths.tmp);
  }

  /** File content hashes by stat identity, kept between builds. */
  hashCache(): HashCache & { entries: () => [string, string][] } {
    const file = path.join(this.dir, 'file-hashes.json');
    this.hashes ??= new Map(Object.entries(readJsonIfExists<Record<string, string>>(file) ?? {}));
    const map = this.hashes;
    return {
      entries: () => [...map],
      get: (k) => map.get(k),
      set: (k, h) => {
        map.set(k, h);
        this.hashesChanged = true;
      },
    };
  }

  /** Write the file-hash memo back, keeping only what this build used when it grew too big. */
  save(): void {
    if (!this.hashes || !this.hashesChanged) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const entries = [...this.hashes];
    writeFileAtomic(path.join(this.dir, 'file-hashes.json'), JSON.stringify(Object.fromEntries(entries.slice(-200_000))), this.store.paths.tmp);
  }
}
