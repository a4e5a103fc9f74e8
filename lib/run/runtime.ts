/**
 * The OCI runtime in the foreground: `runc run --bundle B ID` with hod's stdio (runc makes the pty itself
 * when the spec asks for a terminal), its exit status passed through, signals hod receives passed on, and
 * `runc delete --force` afterwards whatever happened, so no container state outlives the command.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { SystemError } from '../errors.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function runRuntime(runtime: string, bundle: string, id: string, stateDir: string): Promise<number> {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const child = spawn(runtime, ['--root', stateDir, 'run', '--bundle', bundle, id], { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new SystemError(`cannot start the OCI runtime "${runtime}": ${err.message} (install runc, or choose one with --runtime)`)));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
    });
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    spawnSync(runtime, ['--root', stateDir, 'delete', '--force', id], { stdio: 'ignore' });
  }
}
