/** The flags every verb that talks to a registry shares, as buildah spells them, and the progress lines. */
import fs from 'node:fs';
import type { ProgressEvent } from '../pull/copy-image.js';
import { blobLabel, progressBars } from './progress-bars.js';
import type { ClientOptions } from '../registry/client.js';
import type { Context } from './context.js';
import { bool, int, str, type Flag } from './flags.js';

export const REGISTRY_FLAGS: Record<string, Flag> = {
  'tls-verify': { type: 'boolean', desc: 'require HTTPS and verify certificates (default true; false also allows plain HTTP)' },
  'cert-dir': { type: 'string', arg: 'dir', desc: 'CA and client certificates per registry (default /etc/containers/certs.d)' },
  retry: { type: 'string', arg: 'n', desc: 'retries on network errors, 429 and 5xx (default 3)' },
  'retry-delay': { type: 'string', arg: 'duration', desc: 'first delay between retries, e.g. 500ms or 2s (doubles each time)' },
  authfile: { type: 'string', arg: 'file', desc: 'credentials file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json, ~/.docker/config.json)' },
  quiet: { type: 'boolean', alias: 'q', desc: 'no progress output' },
};

function durationMs(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) throw new Error(`--retry-delay: "${s}" is not a duration (e.g. 500ms, 2s)`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's'] ?? 1000);
}

export function clientOptions(ctx: Context): ClientOptions {
  return {
    tlsVerify: ctx.flags['tls-verify'] === undefined ? undefined : bool(ctx.flags, 'tls-verify'),
    certsDir: str(ctx.flags, 'cert-dir'),
    retry: int(ctx.flags, 'retry'),
    retryDelay: durationMs(str(ctx.flags, 'retry-delay')),
    authfile: str(ctx.flags, 'authfile'),
  };
}

/** Lines about what a pull tries ("Trying to pull ..."), on stderr; nothing with -q. */
export function notes(ctx: Context): ((line: string) => void) | undefined {
  return bool(ctx.flags, 'quiet') ? undefined : (line) => ctx.err(line);
}

/**
 * Progress on stderr, nothing with -q: a bar per blob, redrawn in place, when stderr is a terminal; else
 * one line per blob as buildah prints them.
 */
export function progressLines(ctx: Context): ((e: ProgressEvent) => void) | undefined {
  if (bool(ctx.flags, 'quiet')) return undefined;
  // decided at the first event: node:tty loads node:net, which `from` of a stored image should not pay for
  let draw: ((e: ProgressEvent) => void) | undefined;
  return (e) => {
    draw ??= process.getBuiltinModule('node:tty').isatty(2) && process.env.TERM !== 'dumb'
      ? progressBars((s) => fs.writeSync(2, s), process.stderr.columns || 80)
      : (ev) => {
          if (ev.kind === 'skip') ctx.err(blobLabel(ev.desc) + ' skipped: already exists');
          else if (ev.kind === 'done') ctx.err(blobLabel(ev.desc) + ' done');
        };
    draw(e);
  };
}
