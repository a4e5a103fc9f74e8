// Shared bits of the benchmark scripts: flag parsing, timing, medians.
import { performance } from 'node:perf_hooks';

export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown argument ${argv[i]}; known: ${Object.keys(defaults).join(', ')}`);
    out[m[1]] = m[2] ?? argv[++i];
  }
  return out;
}

export function timeIt(fn) {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
