/**
 * The OCI runtime in the foreground: `runc run --bundle B ID` with hod's stdio (runc makes the pty itself
 * when the spec asks for a terminal), its exit status passed through, signals hod receives passed on, and
 * `runc delete --force` afterwards whatever happened, so no container state outlives the command.
 */
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { SystemError } from '../errors.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
const KILL_AFTER_MS = 1000;

export async function runRuntime(runtime: string, bundle: string, id: string, stateDir: string, stdio: StdioOptions = 'inherit'): Promise<number> {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const child = spawn(runtime, ['--root', stateDir, 'run', '--bundle', bundle, id], { stdio });
  let signalled = false;
  let grace: NodeJS.Timeout | undefined;
  // passed on to runc, which hands it to the command; a command that ignores it (pid 1 ignores SIGINT
  // and SIGTERM it has no handler for) is killed a second later, so a Ctrl-C always ends the run
  const forward = (sig: NodeJS.Signals) => {
    signalled = true;
    child.kill(sig);
    grace ??= setTimeout(() => spawnSync(runtime, ['--root', stateDir, 'kill', '--all', id, 'KILL'], { stdio: 'ignore' }), KILL_AFTER_MS);
  };
  for (const s of FORWARDED) process.on(s, forward);
  let clean = false;
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new SystemError(`cannot start the OCI runtime "${runtime}": ${err.message} (install the Debian package runc, or choose a runtime with --runtime)`)));
      child.once('exit', (code, signal) => {
        // runc run removes its container itself when it ends normally, whatever the command's status
        clean = code !== null && !signalled;
        resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
      });
    });
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    if (grace) clearTimeout(grace);
    if (!clean) spawnSync(runtime, ['--root', stateDir, 'delete', '--force', id], { stdio: 'ignore' });
  }
}
