/**
 * Imported before undici. undici parses HTTP with llhttp compiled to WebAssembly; V8 then re-compiles it
 * with TurboFan in the background, and a process cannot exit before that job ends: ~100 ms after every
 * push and pull had finished. Liftoff, the baseline compiler, alone is fast enough for HTTP headers.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--liftoff-only');
