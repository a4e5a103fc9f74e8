/** `hod login` / `hod logout`: credentials checked against the registry, then saved to auth.json. */
import { HodError } from '../errors.js';
import { getCredentials, normalizeAuthKey, removeCredentials, saveCredentials, type AuthOptions } from './auth-file.js';
import { RegistryClient, type ClientOptions } from './client.js';
import { apiHost } from './docker-transport.js';

export async function login(registry: string, username: string, password: string, opts: ClientOptions & AuthOptions = {}): Promise<string> {
  if (!username) throw new HodError('EUSAGE', 'a username is needed (--username)');
  if (!password) throw new HodError('EUSAGE', 'a password is needed (--password-stdin)');
  const key = normalizeAuthKey(registry);
  const client = new RegistryClient(apiHost(key.split('/')[0]), { ...opts, getCredentials: async () => ({ username, password }) });
  try {
    await client.checkLogin();
  } finally {
    await client.close();
  }
  return saveCredentials(key, username, password, opts);
}

export function logout(registry: string | undefined, opts: AuthOptions = {}): void {
  if (!removeCredentials(registry, opts) && registry !== undefined) {
    throw new HodError('ENOTFOUND', `not logged into ${normalizeAuthKey(registry)}`);
  }
}

/** `--get-login`: the user name saved for a registry. */
export async function loginName(registry: string, opts: AuthOptions = {}): Promise<string> {
  const c = await getCredentials(registry, opts);
  if (!c || !('username' in c)) throw new HodError('ENOTFOUND', `not logged into ${normalizeAuthKey(registry)}`);
  return c.username;
}
