import fs from 'node:fs';
import path from 'node:path';

/**
 * What the vfs driver remembers of a rootfs at a point in time, to find changes later without a second
 * copy: per path its inode and ctime. Any write, chmod, chown, xattr change or rename bumps ctime, and a
 * replaced file has a new inode, so (ino, ctime) is a cheap and exact change detector.
 */
export type Snapshot = Map<string, { ino: number; ctime: number; dir: boolean }>;

export function snapshotFile(containerDir: string): string {
  return path.join(containerDir, 'vfs-snapshot.json');
}

/** Walk `root` synchronously (per-file async calls are slow on trees of small files). */
export function takeSnapshot(root: string): Snapshot {
  const snap: Snapshot = new Map();
  const walk = (rel: string) => {
    const abs = rel ? path.join(root, rel) : root;
    for (const ent of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const st = fs.lstatSync(path.join(abs, ent.name));
      snap.set(r, { ino: st.ino, ctime: st.ctimeMs, dir: st.isDirectory() });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return snap;
}

export function saveSnapshot(file: string, snap: Snapshot): void {
  const rows: [string, number, number, number][] = [];
  for (const [p, v] of snap) rows.push([p, v.ino, v.ctime, v.dir ? 1 : 0]);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(rows));
  fs.renameSync(tmp, file);
}

export function loadSnapshot(file: string): Snapshot {
  const rows = JSON.parse(fs.readFileSync(file, 'utf8')) as [string, number, number, number][];
  return new Map(rows.map(([p, ino, ctime, dir]) => [p, { ino, ctime, dir: dir === 1 }]));
}
