import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { AdminBootstrap } from '../auth/admin-bootstrap.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import type { MeView } from '../auth/me.schemas.js';
import { UsersService } from '../users/users.service.js';
import { LoginSessions } from './login-sessions.service.js';
import { LoginThrottle } from './login-throttle.js';
import type { ChangePasswordBody, LoginBody, PasswordChangedView, SignedInView } from './sign-in.schemas.js';

/** The one answer to a wrong password and an unknown account alike, so that neither reveals which. */
const INVALID_CREDENTIALS = 'Invalid sign-in: check the name or email and the password, or the API key.';

export interface SignedIn {
  view: SignedInView;
  token: string;
  expiresAt: Date;
}

/** POST /auth/login and /auth/logout, GET /auth/session, PATCH /me/password. */
@Injectable()
export class SignInService {
  constructor(
    private readonly sessions: LoginSessions,
    private readonly throttle: LoginThrottle,
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly bootstrap: AdminBootstrap,
  ) {}

  /**
   * Signs in with a password (the session acts through the user's sign-in key) or an API key
   * (through that key): 401 `invalid_credentials`, the same for every failure; 403 for a
   * disabled account once the credentials are right; 429 after too many failures.
   */
  async login(input: LoginBody, ip: string): Promise<SignedIn> {
    // A public route, so the guard's readiness check does not cover it: 503 until migrations and the first admin are done.
    if (!this.bootstrap.ready) throw new DomainError('unavailable', 'The server is starting; retry in a moment.', { retryAfterSeconds: 1 });
    // Counted per account however it is named (its name or its email), per text typed otherwise.
    const account = 'name_or_email' in input ? await this.users.loginAccount(input.name_or_email) : null;
    const caller = await this.throttle.attempt(ip, account, () => this.verify(input));
    if (!caller) throw new DomainError('unauthenticated', INVALID_CREDENTIALS, { code: 'invalid_credentials' });
    const session = await this.sessions.start(caller.userId, caller.keyId);
    return { view: await this.view(caller.userId, caller.keyId, session.csrfToken), token: session.token, expiresAt: session.expiresAt };
  }

  /** The signed-in session of this cookie, with its CSRF token again (for a page reloaded since). */
  async current(token: string): Promise<SignedInView> {
    const caller = await this.sessions.authenticate(token);
    return this.view(caller.userId, caller.keyId, await this.sessions.csrfToken(token));
  }

  async logout(token: string | undefined, csrf: string | undefined): Promise<void> {
    if (token === undefined)
      throw new DomainError('unauthenticated', 'Not signed in: there is no session cookie to end.', { code: 'session_invalid' });
    // The same rule as every cookie-authenticated write: without the CSRF token, no sign-out.
    await this.sessions.authenticate(token, { presented: csrf });
    await this.sessions.end(token);
  }

  /** 401 `invalid_credentials` when the current password is wrong (or missing while there is one). */
  async changePassword(caller: Caller, input: ChangePasswordBody, ip: string): Promise<PasswordChangedView> {
    if (caller.guestIp !== undefined) throw new DomainError('forbidden', 'Guests have no password.', { code: 'guest_not_allowed' });
    // Guesses at the current password are throttled as sign-ins are (a borrowed session must not become a password oracle).
    const ok = await this.throttle.attempt(ip, `id:${caller.userId}`, async () =>
      (await this.users.changeOwnPassword(caller.userId, input.current_password, input.password, caller.sessionId)) ? true : null,
    );
    if (!ok) throw new DomainError('unauthenticated', 'The current password is wrong.', { code: 'invalid_credentials', param: 'current_password' });
    return { object: 'user.password', changed: true };
  }

  private async verify(input: LoginBody): Promise<Caller | null> {
    if ('api_key' in input) {
      try {
        return await this.keys.authenticate(`Bearer ${input.api_key}`);
      } catch (err) {
        if (err instanceof DomainError && err.kind === 'unauthenticated') return null;
        throw err;
      }
    }
    const user = await this.users.verifyLogin(input.name_or_email, input.password);
    if (!user) return null;
    if (user.disabled) throw new DomainError('forbidden', 'This account is disabled.', { code: 'account_disabled' });
    const keyId = await this.keys.ensureSignInKey(user.id);
    return this.keys.cachedCallerForKey(keyId);
  }

  private async view(userId: string, keyId: string, csrfToken: string): Promise<SignedInView> {
    const user: MeView = { ...(await this.users.get(userId)), key: { id: keyId } };
    return { user, csrf_token: csrfToken };
  }
}
