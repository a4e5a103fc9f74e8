/**
 * undici parses HTTP with llhttp compiled to WebAssembly; V8 then re-compiles its hot functions with
 * TurboFan in the background, and a process cannot exit before that job ends: 100–170 ms after a push of
 * W1 had finished. Liftoff, the baseline compiler, alone is fast enough for HTTP headers.
 *
 * Turned on just before the first connection, not when undici loads: a V8 flag changed at run time makes
 * V8 refuse every code cache made with the old flags, Node's own for the builtins loaded afterwards (node:http,
 * node:http2 and node:crypto took 55 ms instead of 15) and bin/hod.cjs's for the verb's bundle, which it
 * writes at exit with the flags put back.
 */
import fs from 'node:fs';
import v8 from 'node:v8';

let set = false;

export function liftoffOnly(): void {
  if (set) return;
  set = true;
  // bin/hod.cjs writes the bundle's code cache at exit after putting the flags back as they were: --liftoff-only
  // also turned off the two tier-up flags (V8's flag implications)
  const hook = (process as unknown as Record<symbol, ((restore: () => void) => void) | undefined>)[Symbol.for('hod.beforeV8Flags')];
  hook?.(() => v8.setFlagsFromString('--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering'));
  // the builtins a push or pull loads only later, loaded now while their code cache still counts: fs's
  // streams (and with them fs/promises and readline) compiled from source after the flag took 8-10 ms
  void fs.ReadStream;
  v8.setFlagsFromString('--liftoff-only');
}
