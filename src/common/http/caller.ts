/** The authenticated principal of a request, resolved from its API key. */
export interface Caller {
  userId: string;
  keyId: string;
  role: 'admin' | 'user';
  name: string;
}

export function isAdmin(caller: Caller): boolean {
  return caller.role === 'admin';
}
