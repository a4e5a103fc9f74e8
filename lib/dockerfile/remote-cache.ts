/**
 * The build cache shared through a registry (`--cache-to`, `--cache-from`): each step's image is pushed as
 * REPO:<cache key>, and a build that misses a step locally pulls REPO:<key> before building it. The key is
 * also in the image's last history comment, so an image pushed under another key's tag is found out and
 * ignored (with a warning); blobs are checked against their digests by the pull as always.
 */
import { INTERMEDIATE, REF_NAME } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { ClientOptions } from '../registry/client.js';

export const cacheComment = (key: string): string => `hod cache key ${key}`;

export interface RemoteCacheOptions {
  to?: string;
  from: string[];
  client: ClientOptions;
  warn: (line: string) => void;
  log: (line: string) => void;
}

function isMissing(err: Error): boolean {
  return /manifest unknown|not found|404|name unknown/i.test(err.message);
}

export class RemoteCache {
  private pushes: Promise<void> = Promise.resolve();
  private pushed = 0;

  constructor(private readonly store: Store, private readonly opts: RemoteCacheOptions) {}

  get enabled(): boolean {
    return this.opts.to !== undefined || this.opts.from.length > 0;
  }

  /** The step's image from the first --cache-from repository that has one that checks out. */
  async fetch(key: string): Promise<string | undefined> {
    const { pull } = await import('../pull/pull.js');
    for (const repo of this.opts.from) {
      const ref = `${repo}:${key}`;
      let id: string;
      try {
        // quietly: a miss is the common case, and a hit says so in the step's "Using cache" line
        id = (await pull(this.store, `docker://${ref}`, { ...this.opts.client, progress: undefined, note: undefined, unpack: false })).id;
      } catch (err) {
        if (!isMissing(err as Error)) this.opts.warn(`cache ${ref}: ${(err as Error).message}; building the step`);
        continue;
      }
      const name = this.unname(ref);
      const history = this.store.images.config(this.store.images.get(id)).history ?? [];
      if (history[history.length - 1]?.comment === cacheComment(key)) {
        this.opts.log(`--> Pulled the step's cache from ${repo}`);
        return id;
      }
      this.opts.warn(`cache image ${ref} was not built for this step (its history names another key): ignored, the step is built`);
      if (name && !this.store.images.get(id).names.length) {
        const { rmi } = await import('../builder/images.js');
        await rmi(this.store, id).catch(() => undefined);
      }
    }
    return undefined;
  }

  /**
   * Push a step's image under its key, beside the build; flush() waits for them. One push at a time, in step
   * order: a step's image holds its parent's layers, which the push before it has just put there, so each
   * push uploads only its own new layer. Side by side, every push uploaded the shared layers again, and
   * docker-registry now and then refused a manifest whose blobs another push was uploading (DIGEST_INVALID,
   * MANIFEST_BLOB_UNKNOWN): that step was missing from the cache.
   */
  publish(key: string, imageId: string): void {
    const to = this.opts.to;
    if (to === undefined) return;
    this.pushed++;
    this.pushes = this.pushes.then(async () => {
      const { push } = await import('../push/push.js');
      try {
        await push(this.store, imageId, `docker://${to}:${key}`, { ...this.opts.client });
      } catch (err) {
        this.opts.warn(`pushing the cache of a step to ${to}: ${(err as Error).message}`);
      }
    });
  }

  async flush(): Promise<void> {
    await this.pushes;
    if (this.pushed) this.opts.log(`--> Pushed ${this.pushed} step(s) to ${this.opts.to}`);
  }

  /** A pulled cache image keeps no name of its own: it is a step's image, as if built here. */
  private unname(ref: string): boolean {
    let found = false;
    this.store.images.update((index) => {
      for (const d of index.manifests) {
        const n = d.annotations?.[REF_NAME];
        if (n === undefined || !n.endsWith(ref)) continue;
        found = true;
        const { [REF_NAME]: _drop, ...rest } = d.annotations!;
        d.annotations = { ...rest, [INTERMEDIATE]: 'true' };
      }
      index.manifests = index.manifests.filter((d, i) => d.annotations?.[REF_NAME] || index.manifests.findIndex((o) => o.digest === d.digest) === i);
    });
    return found;
  }
}
