import fs from 'node:fs';
import { login, loginName } from '../registry/login.js';
import { type Context } from './context.js';
import { bool, need, str, type VerbSpec } from './flags.js';
import { clientOptions, REGISTRY_FLAGS } from './registry-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] REGISTRY',
  desc: 'Log in to a registry: the credentials are checked against it, then saved to auth.json (mode 0600).',
  flags: {
    'tls-verify': REGISTRY_FLAGS['tls-verify'],
    'cert-dir': REGISTRY_FLAGS['cert-dir'],
    authfile: REGISTRY_FLAGS.authfile,
    username: { type: 'string', alias: 'u', arg: 'name', desc: 'user name' },
    password: { type: 'string', alias: 'p', arg: 'password', desc: 'password (visible in the process list: prefer --password-stdin)' },
    'password-stdin': { type: 'boolean', desc: 'read the password from stdin' },
    'get-login': { type: 'boolean', desc: 'print the user name saved for the registry' },
  },
  more: 'Example:\n  hod login --username me --password-stdin registry.example.com < token.txt',
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'a registry');
  const opts = clientOptions(ctx);
  if (bool(ctx.flags, 'get-login')) {
    ctx.out(await loginName(ctx.args[0], opts));
    return;
  }
  const password = bool(ctx.flags, 'password-stdin') ? fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '') : str(ctx.flags, 'password') ?? '';
  await login(ctx.args[0], str(ctx.flags, 'username') ?? '', password, opts);
  ctx.out('Login Succeeded!');
}
