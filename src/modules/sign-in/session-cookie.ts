/** The cookie POST /auth/login sets: the sign-in session's token, never readable by page scripts. */
export const SESSION_COOKIE = 'colloquy_session';

/**
 * The session token in a Cookie header, or undefined when there is no `colloquy_session` cookie
 * (other cookies do not count). An empty value is a cookie presented, and refused, not absent.
 */
export function sessionTokenFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * HttpOnly, SameSite=Strict, Path=/, and Secure when the request came over HTTPS (directly or,
 * with TRUST_PROXY, by X-Forwarded-Proto). No Max-Age: the expiry is the server's, sliding with
 * each use (a browser-side age set at sign-in would end an active session at login + TTL).
 */
export function sessionCookie(token: string, secure: boolean): string {
  return [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}

/** Tells the browser to drop the cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return [
    `${SESSION_COOKIE}=`,
    'Path=/',
    'Max-Age=0',
    'Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** The `x-csrf-token` header of a request (one value; a repeated header is none). */
export function csrfTokenFrom(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers['x-csrf-token'];
  return typeof value === 'string' ? value : undefined;
}
