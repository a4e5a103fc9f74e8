/**
 * undici parses HTTP with llhttp compiled to WebAssembly; V8 then re-compiles its hot functions with
 * TurboFan in the background, and a process cannot exit before that job ends: 100–170 ms after a push of
 * W1 had finished. Liftoff, the baseline compiler, alone is fast enough for HTTP headers.
 *
 * Turned on just before the first connection, not when undici loads: a V8 flag changed at run time makes
 * V8 refuse every code cache made with the old flags, Node's own for the builtins loaded afterwards (node:http,
 * node:http2 and node:crypto took 55 ms instead of 15) and bin/hod.cjs's for the verb's bundle, which it is
 * asked to write first.
 */
import v8 from 'node:v8';

let set = false;

export function liftoffOnly(): void {
  if (set) return;
  set = true;
  (process as unknown as Record<symbol, (() => void) | undefined>)[Symbol.for('hod.beforeV8Flags')]?.();
  v8.setFlagsFromString('--liftoff-only');
}
