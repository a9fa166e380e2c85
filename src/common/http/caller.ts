/** Limits and budget of a user or an API key; null fields fall back to the configured defaults. */
export interface LimitSet {
  rpm: number | null;
  tpm: number | null;
  budget: { micros: number; period: 'day' | 'month' | 'total' } | null;
}

/** The authenticated principal of a request, resolved from its API key. */
export interface Caller {
  userId: string;
  keyId: string;
  role: 'admin' | 'user';
  name: string;
  limits: { user: LimitSet; key: LimitSet };
  /** The user's own tool allow list (PATCH /users/{id} `tools`); null or absent = what tools.allow gives the role. */
  tools?: string[] | null;
  /** Set on a guest request (no Authorization header, guest access on): the client IP its requests are also counted by. */
  guestIp?: string;
  /** Set when the request was authenticated by a sign-in session's cookie (POST /auth/login), not a bearer key. */
  sessionId?: string;
}

/**
 * The end user a request names under the caller's account (OpenAI's `user`, Smart-Host's
 * `user_id`): '' for none, and for the account's own id (which names the account itself).
 */
export function endUserOf(caller: Caller, user: string | null | undefined): string {
  return !user || user === caller.userId ? '' : user;
}

export function isAdmin(caller: Caller): boolean {
  return caller.role === 'admin';
}
