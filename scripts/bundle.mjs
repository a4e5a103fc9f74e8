#!/usr/bin/env node
// Bundles each verb, with the dispatcher and everything it imports, into one CommonJS file,
// dist/cli/<verb>.cjs, which bin/hod loads. Why: Node's ESM loader resolves, reads and links every module
// one by one, and a verb touched ~25 of them; one CommonJS file starts in about a third of the time that
// costs (hod containers: 81 ms -> 65 ms against 54 ms for `node -e 0`). Runs after `tsc`, on dist/.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = path.join(root, 'dist', 'lib', 'cli');
const outDir = path.join(root, 'dist', 'cli');
const { VERBS, ALIASES } = await import(path.join(cliDir, 'verbs.js'));

fs.rmSync(outDir, { recursive: true, force: true });

// One virtual entry per verb: its module and the dispatcher, exported as run(argv).
const entries = {
  name: 'verb-entries',
  setup(b) {
    b.onResolve({ filter: /^verb:/ }, (a) => ({ path: a.path.slice(5), namespace: 'verb' }));
    b.onLoad({ filter: /.*/, namespace: 'verb' }, (a) => ({
      resolveDir: cliDir,
      contents: `import * as mod from './${a.path}.js';\nimport { runVerb } from './dispatch.js';\n` +
        `export function run(argv) { return runVerb(${JSON.stringify(a.path)}, () => mod, argv); }\n`,
    }));
  },
};

// Large packages get a bundle of their own, required only when a module that uses them first runs: the
// verbs that never touch them (mount, config, containers) do not pay to parse them (~15 ms per MB).
const VENDORED = ['execa', 'tar-stream', 'undici', 'minimatch', 'yaml'];
const vendor = {
  name: 'vendor',
  setup(b) {
    const filter = new RegExp(`^(${VENDORED.join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: `./vendor/${a.path}.cjs`, external: true }));
  },
};

// undici's HTTP/2 client loads node:http2 (6 ms of every registry verb's start) and runs only when a server
// offers h2, which hod never asks for (allowH2 is off): required on first use instead.
const lazyH2 = {
  name: 'lazy-h2',
  setup(b) {
    b.onLoad({ filter: /undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/ }, (a) => {
      const text = fs.readFileSync(a.path, 'utf8');
      const eager = "const connectH2 = require('./client-h2.js')";
      if (!text.includes(eager)) throw new Error(`${a.path}: undici no longer loads client-h2.js as expected; update scripts/bundle.mjs`);
      return { contents: text.replace(eager, "const connectH2 = (...args) => require('./client-h2.js')(...args)"), loader: 'js' };
    });
  },
};

// undici calls node:assert as a plain function only, and loading the module costs 3-4 ms of every registry
// verb's start: its modules get a function that loads the real one when an assertion fails.
const lazyAssert = {
  name: 'lazy-assert',
  setup(b) {
    b.onResolve({ filter: /^(node:)?assert$/ }, (a) => (/[\\/]node_modules[\\/]undici[\\/]/.test(a.importer) ? { path: 'assert', namespace: 'lazy-assert' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: "module.exports = function assert(value, message) { if (!value) require('node:assert')(value, message); };",
      loader: 'js',
    }));
  },
};

// No import() is left in a bundle (esbuild makes each a require() in a promise): bin/hod compiles the bundles
// with vm.Script, for its code cache, and a dynamic import there would need Node's experimental loader hook.
const common = {
  outdir: outDir, outExtension: { '.js': '.cjs' }, bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning',
  supported: { 'dynamic-import': false },
};

await build({ ...common, entryPoints: VENDORED.map((v) => ({ in: v, out: `vendor/${v}` })) });

await build({
  ...common,
  entryPoints: Object.keys(VERBS).map((v) => ({ in: `verb:${v}`, out: v })),
  plugins: [entries, vendor, lazyH2, lazyAssert],
  // Code that finds files next to itself (the gzip worker, package.json) does so from lib/cli/ in dist.
  define: { 'import.meta.url': '__hodModuleUrl' },
  banner: { js: "const __hodModuleUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, '../lib/cli/bundle.js')).href;" },
});

// Worker threads that import packages get a bundle of their own too, so that the verb bundles need no
// node_modules at all (a copy of bin/ and dist/ runs anywhere, a pod's image for one).
await build({
  ...common,
  entryPoints: [{ in: path.join(root, 'dist', 'lib', 'builder', 'source-digest-worker.js'), out: 'source-digest-worker' }],
  plugins: [vendor],
  define: { 'import.meta.url': '__hodModuleUrl' },
  banner: { js: "const __hodModuleUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, '../lib/cli/bundle.js')).href;" },
});

// esbuild turns each `import fs from 'node:fs'` into its own __toESM(require('node:fs')), a fresh copy of every
// export as a getter: 46 of them in the run bundle, 2.5 ms of its 12 ms load. One copy per module does.
const MEMO = `var __toESMMemo = new WeakMap();
var __toESM = (mod, isNodeMode) => {
  if (mod == null || typeof mod !== 'object') return __toESMFresh(mod, isNodeMode);
  let m = __toESMMemo.get(mod);
  if (!m) __toESMMemo.set(mod, (m = []));
  return (m[isNodeMode ? 1 : 0] ??= __toESMFresh(mod, isNodeMode));
};
`;
for (const name of fs.readdirSync(outDir).filter((f) => f.endsWith('.cjs'))) {
  const file = path.join(outDir, name);
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf('var __toESM = ');
  if (at < 0) continue;
  const end = text.indexOf('\n));\n', at);
  if (end < 0) throw new Error(`${name}: esbuild's __toESM helper changed shape; update scripts/bundle.mjs`);
  const def = text.slice(at, end + 5).replace('var __toESM = ', 'var __toESMFresh = ');
  fs.writeFileSync(file, text.slice(0, at) + def + MEMO + text.slice(end + 5));
}

for (const [alias, verb] of Object.entries(ALIASES)) {
  fs.writeFileSync(path.join(outDir, `${alias}.cjs`), `module.exports = require('./${verb}.cjs');\n`);
}
