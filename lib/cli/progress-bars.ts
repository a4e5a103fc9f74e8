/**
 * Per-blob progress bars for a terminal, in the manner of buildah's: one line per blob, all redrawn in
 * place (cursor up, clear line) at most every 100 ms while bytes flow, and at once when a blob starts,
 * ends or is skipped, so the last frame drawn always shows every blob's final state.
 */
import type { Descriptor } from '../image/types.js';
import type { ProgressEvent } from '../pull/copy-image.js';

const FRAME_MS = 100;

export function blobLabel(desc: Descriptor): string {
  return `Copying ${desc.mediaType.includes('config') ? 'config' : 'blob'} ${desc.digest.replace(/^sha256:/, '').slice(0, 12)}`;
}

function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n}${units[i]}`;
}

interface Row {
  desc: Descriptor;
  state: 'running' | 'done' | 'skipped';
  done: number;
}

function line(r: Row, columns: number): string {
  const label = blobLabel(r.desc);
  if (r.state === 'skipped') return `${label} skipped: already exists`;
  const total = r.desc.size;
  const counts = r.state === 'done' ? `${size(total)} / ${size(total)} done` : `${size(r.done)} / ${size(total)}`;
  const width = Math.max(10, Math.min(40, columns - label.length - counts.length - 5));
  const filled = total > 0 ? Math.min(width, Math.floor((r.done / total) * width)) : width;
  const bar = r.state === 'done' ? '='.repeat(width) : '='.repeat(filled) + (filled < width ? '>' + ' '.repeat(width - filled - 1) : '');
  return `${label} [${bar}] ${counts}`;
}

/** A progress listener that draws through `write` (raw terminal output) on a terminal `columns` wide. */
export function progressBars(write: (s: string) => void, columns: number): (e: ProgressEvent) => void {
  const rows = new Map<string, Row>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;

  const draw = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const r of rows.values()) out += `\r\x1b[2K${line(r, columns).slice(0, columns - 1)}\n`;
    drawn = rows.size;
    write(out);
  };

  return (e) => {
    const key = e.desc.digest;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { desc: e.desc, state: 'running', done: 0 }));
    if (e.kind === 'bytes') {
      r.done = e.done;
      // bytes arrive per chunk: draw on the next frame, not on each
      timer ??= setTimeout(draw, FRAME_MS).unref();
      return;
    }
    if (e.kind === 'skip') r.state = 'skipped';
    if (e.kind === 'done') {
      r.state = 'done';
      r.done = r.desc.size;
    }
    draw();
  };
}
