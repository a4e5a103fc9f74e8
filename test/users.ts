import fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';

/** Make a user (with subordinate ids unless `subids` is false) if it is not there; returns its uid and gid. */
export function ensureUser(name: string, subids: boolean): { uid: number; gid: number } {
  if (spawnSync('id', ['-u', name]).status !== 0) {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', '-K', `SUB_UID_COUNT=${subids ? 65536 : 0}`, '-K', `SUB_GID_COUNT=${subids ? 65536 : 0}`, name]);
  }
  const has = (f: string) => fs.readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${name}:`));
  if (subids && !(has('/etc/subuid') && has('/etc/subgid'))) execFileSync('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', name]);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
