'use strict';
// CommonJS on purpose (bin/package.json): the fast path finds the verb and loads its one-file bundle,
// dist/cli/<verb>.cjs (scripts/bundle.mjs). No verb, an unknown one, or no bundles built: the ESM entry.
const fs = require('node:fs');
const path = require('node:path');

// bin/hod held NODE_EXTRA_CA_CERTS back from Node's start: the programs hod starts get it again, and hod's
// own TLS connections read the file when they first need it (lib/registry/tls.ts)
if (process.env.HOD_EXTRA_CA_CERTS !== undefined) {
  process[Symbol.for('hod.extraCaCerts')] = process.env.NODE_EXTRA_CA_CERTS = process.env.HOD_EXTRA_CA_CERTS;
  delete process.env.HOD_EXTRA_CA_CERTS;
}

let argv = process.argv.slice(2);
const VALUE_FLAGS = ['--root', '--storage-driver', '--log-level']; // the global flags that take a value (lib/cli/flags.ts)
let verb;
for (let i = 0; i < argv.length && verb === undefined; i++) {
  if (!argv[i].startsWith('-')) verb = argv[i];
  else if (VALUE_FLAGS.includes(argv[i])) i++;
}
// not root: the verbs that change the store run in `hod unshare`'s user namespace (NEEDS_USERNS, lib/cli/verbs.ts)
const NEEDS_USERNS = ['from', 'umount', 'unmount', 'run', 'commit', 'bud', 'build', 'copy', 'add', 'rm', 'rmi', 'pull', 'info'];
if (process.getuid() !== 0 && NEEDS_USERNS.includes(verb) && !argv.includes('--help') && !argv.includes('-h')) {
  argv = ['unshare', '--', path.join(__dirname, 'hod'), ...argv];
  verb = 'unshare';
}
const bundle = verb && /^[a-z][a-z-]*$/.test(verb) && path.join(__dirname, '..', 'dist', 'cli', `${verb}.cjs`);
const done = (code) => { process.exitCode = code; };
if (bundle && fs.existsSync(bundle)) loadBundle(bundle).run(argv).then(done);
else import('../dist/lib/cli/main.js').then((m) => m.main(argv)).then(done);

/**
 * require(), but with a V8 code cache kept beside the bundle (<verb>.cjs.v8cache): without one, every process
 * compiles again each function it calls (hod run: ~8 ms of its 30 ms of JavaScript). The cache is written at
 * the exit of a run that ended well, or just before the run changes a V8 flag, so it holds the functions the
 * run used until then; the next two such runs write it again, each adding the functions it compiled itself
 * (another path, another verb's flags). V8 refuses a cache made by another V8 or with other flags; the
 * bundle's size and mtime, on its first line, catch a changed bundle. Only the bundle's owner writes it: the
 * cache is trusted as much as the bundle.
 */
function loadBundle(file) {
  const vm = require('node:vm');
  const st = fs.statSync(file);
  const cacheFile = `${file}.v8cache`;
  const stamp = `${st.size} ${st.mtimeMs}`;
  let cachedData;
  let writes = 0;
  try {
    const data = fs.readFileSync(cacheFile);
    const nl = data.indexOf(10);
    const [size, mtime, n] = data.subarray(0, nl).toString().split(' ');
    if (`${size} ${mtime}` === stamp) {
      cachedData = data.subarray(nl + 1);
      writes = Number(n);
    }
  } catch {
    // none yet
  }
  // the wrapper require() puts around a CommonJS module
  const source = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(file, 'utf8')}\n});`;
  const script = new vm.Script(source, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, require('node:module').createRequire(file), mod, file, path.dirname(file));
  if (script.cachedDataRejected) writes = 0;
  if ((!cachedData || script.cachedDataRejected || writes < 3) && st.uid === process.geteuid()) {
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${stamp} ${writes + 1}\n`), script.createCachedData()]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        try {
          fs.unlinkSync(tmp);
        } catch {
          // not written
        }
      }
    };
    process.once('exit', (code) => code === 0 && write());
    // a cache made after a V8 flag changed is refused by every process that starts without it: the registry
    // client's --liftoff-only (lib/registry/wasm-flags.ts) has the cache written first
    process[Symbol.for('hod.beforeV8Flags')] = write;
  }
  return mod.exports;
}
