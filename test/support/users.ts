import { client } from './http.js';

export interface TestUser {
  id: string;
  keyId: string;
  key: string;
  /** A JSON client using the user's key. */
  api: ReturnType<typeof client>;
}

/** A new user with one API key, made through the admin API, with user settings (PATCH) and key settings if given. */
export async function createUser(baseUrl: string, adminKey: string, options: { user?: object; key?: object } = {}): Promise<TestUser> {
  const admin = client(baseUrl, adminKey);
  const user = await admin.post('/users', { name: `u-${Math.random().toString(36).slice(2, 10)}` });
  if (options.user && Object.keys(options.user).length) await admin.patch(`/users/${user.body.id}`, options.user);
  const key = await admin.post(`/users/${user.body.id}/keys`, options.key ?? {});
  return { id: user.body.id, keyId: key.body.id, key: key.body.key, api: client(baseUrl, key.body.key) };
}
