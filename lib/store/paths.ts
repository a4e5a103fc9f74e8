import os from 'node:os';
import path from 'node:path';
import { isRealRoot } from './userns.js';

/**
 * The default store root: /var/lib/hod for root, else $XDG_DATA_HOME/hod or ~/.local/share/hod (also inside
 * `hod unshare`, where uid 0 is the user: HOME still names theirs).
 */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOD_ROOT) return path.resolve(env.HOD_ROOT);
  if (isRealRoot()) return '/var/lib/hod';
  const data = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'hod');
}

/** Where each part of the store lives. The image half (oci-layout, index.json, blobs/) is an OCI image layout. */
export class StorePaths {
  constructor(readonly root: string) {}
  get ociLayout(): string { return path.join(this.root, 'oci-layout'); }
  get index(): string { return path.join(this.root, 'index.json'); }
  get blobs(): string { return path.join(this.root, 'blobs', 'sha256'); }
  blob(digest: string): string { return path.join(this.blobs, hexOf(digest)); }
  get layers(): string { return path.join(this.root, 'layers'); }
  layer(diffId: string): string { return path.join(this.layers, hexOf(diffId)); }
  /** An always-empty lower directory for containers made from scratch (overlay needs at least one lower). */
  get emptyLayer(): string { return path.join(this.root, 'empty'); }
  get containers(): string { return path.join(this.root, 'containers'); }
  container(id: string): string { return path.join(this.containers, id); }
  get tmp(): string { return path.join(this.root, 'tmp'); }
  get locks(): string { return path.join(this.root, 'locks'); }
}

/** "sha256:abc" -> "abc"; a bare hex string passes through. */
export function hexOf(digest: string): string {
  const i = digest.indexOf(':');
  return i < 0 ? digest : digest.slice(i + 1);
}
