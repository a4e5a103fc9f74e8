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
 * the exit of a run that ended well, so it holds the functions the run used; the next two such runs write it
 * again, each adding the functions it compiled itself (another path, another verb's flags). The bundle's size
 * and mtime and Node's version, on its first line, catch a changed bundle or Node. Only the bundle's owner
 * writes it: the cache is trusted as much as the bundle.
 *
 * V8 refuses a cache made under other flags, and the registry client changes one (--liftoff-only,
 * lib/registry/wasm-flags.ts): it hands over a function that puts the flags back, called before the cache is
 * written at exit. Should V8 still refuse such a cache (another Node, whose flag implies others), the cache
 * is written just before the flag changes instead, as its first line then says ("before-flags"): it holds
 * fewer functions, but it is used.
 */
function loadBundle(file) {
  const vm = require('node:vm');
  const st = fs.statSync(file);
  const cacheFile = `${file}.v8cache`;
  const stamp = `${st.size} ${st.mtimeMs}`;
  let cachedData;
  let writes = 0;
  let when = 'exit';
  try {
    const data = fs.readFileSync(cacheFile);
    const nl = data.indexOf(10);
    const [size, mtime, n, w, node] = data.subarray(0, nl).toString().split(' ');
    if (`${size} ${mtime}` === stamp && node === process.version) {
      cachedData = data.subarray(nl + 1);
      writes = Number(n);
      when = w === 'before-flags' ? w : 'exit';
    }
  } catch {
    // none yet
  }
  // the wrapper require() puts around a CommonJS module
  const source = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(file, 'utf8')}\n});`;
  const script = new vm.Script(source, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, require('node:module').createRequire(file), mod, file, path.dirname(file));
  if (script.cachedDataRejected) {
    // same bundle, same Node: the flags it was made under were not the flags put back
    when = 'before-flags';
    writes = 0;
  }
  if ((!cachedData || script.cachedDataRejected || writes < 3) && st.uid === process.geteuid()) {
    let written = false;
    let restoreFlags;
    const write = () => {
      if (written) return;
      written = true;
      restoreFlags?.();
      const tmp = `${cacheFile}.${process.pid}`;
      try {
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${stamp} ${writes + 1} ${when} ${process.version}\n`), script.createCachedData()]));
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
    process[Symbol.for('hod.beforeV8Flags')] = (restore) => {
      if (when === 'before-flags') write();
      else restoreFlags = restore;
    };
  }
  return mod.exports;
}
