import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { RequestRateLimiter } from '../../metering/limits/request-rate-limiter.js';
import { AdminBootstrap } from '../auth/admin-bootstrap.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { GuestAccess } from '../auth/guest-access.service.js';
import { LoginSessions } from '../sign-in/login-sessions.service.js';
import { sessionTokenFrom } from '../sign-in/session-cookie.js';

/**
 * What a request presents: its Authorization header (or, on the WebSocket, the `bearer.`
 * subprotocol as one), else its sign-in session cookie. The header wins when both are there.
 */
export interface Credentials {
  authorization: string | undefined;
  session: string | undefined;
}

/**
 * What every request goes through before its handler, on HTTP and on the WebSocket alike: the
 * server must be ready (503 while the first admin is being created), the key valid and not
 * revoked, its user enabled (401), the role sufficient (403), and, on limited routes and socket
 * turns, one request charged to the caller's per-minute windows (429). The key is the bearer
 * key, else the sign-in session cookie's (whose writes need their CSRF token). With guest access
 * on, a request with neither is the guest instead, on the routes open to guests; a cookie
 * present but not valid is a 401, never the guest.
 */
@Injectable()
export class RequestPolicy {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly bootstrap: AdminBootstrap,
    private readonly requests: RequestRateLimiter,
    private readonly guests: GuestAccess,
    private readonly sessions: LoginSessions,
  ) {}

  /** What a request presents: `authorization` (the header, or the WebSocket's `bearer.` subprotocol as one), else its session cookie. */
  credentialsOf(authorization: string | undefined, cookieHeader: string | undefined): Credentials {
    return { authorization, session: authorization === undefined ? sessionTokenFrom(cookieHeader) : undefined };
  }

  /** Whether a request without an Authorization header may act as the guest (else it is a 401). */
  get guestAccess(): boolean {
    return this.guests.enabled;
  }

  /**
   * The caller behind an Authorization header value (`Bearer <key>`), or, with no header, behind
   * a session cookie; `csrf` (a request that changes something) is checked on the cookie only.
   */
  async authenticate(
    credentials: string | undefined | Credentials,
    options: { admin?: boolean; csrf?: { presented: string | undefined } } = {},
  ): Promise<Caller> {
    if (!this.bootstrap.ready) {
      throw new DomainError('unavailable', 'The server is starting; retry in a moment.', { retryAfterSeconds: 1 });
    }
    const { authorization, session } = typeof credentials === 'object' ? credentials : { authorization: credentials, session: undefined };
    const caller =
      authorization === undefined && session !== undefined
        ? await this.sessions.authenticate(session, options.csrf)
        : await this.keys.authenticate(authorization);
    if (options.admin && caller.role !== 'admin') {
      throw new DomainError('forbidden', 'This route needs an admin key.', { code: 'admin_required' });
    }
    return caller;
  }

  /**
   * The guest, for a request from `ip` without an Authorization header (guest access on): 403 on
   * admin routes and, with `guest.scope: stateless`, on every route but the stateless ones, before
   * anything is charged.
   */
  async authenticateGuest(ip: string, route: { admin?: boolean; stateless: boolean }): Promise<Caller> {
    if (!this.bootstrap.ready) {
      throw new DomainError('unavailable', 'The server is starting; retry in a moment.', { retryAfterSeconds: 1 });
    }
    if (route.admin) throw new DomainError('forbidden', 'This route needs an admin key.', { code: 'admin_required' });
    if (!route.stateless && !this.guests.everyUserRoute) {
      throw new DomainError(
        'forbidden',
        'Guests (requests without an API key) may only use the stateless routes: GET /v1/models, POST /v1/chat/completions, POST /v1/embeddings, ' +
          "Luma's POST /chat/completion and /chat/stream, and Smart-Host's POST /embed. Send `Authorization: Bearer YOUR_KEY` for this route.",
        { code: 'guest_not_allowed' },
      );
    }
    return this.guests.caller(ip);
  }

  /**
   * The caller of a chat socket's turn: the key presented (header or subprotocol) or the session
   * cookie (its Origin checked at the upgrade instead of a CSRF token), else the guest when guest
   * access is on (a /chat turn: not a stateless route).
   */
  authenticateSocket(presented: Credentials, ip: string): Promise<Caller> {
    return presented.authorization === undefined && presented.session === undefined && this.guestAccess
      ? this.authenticateGuest(ip, { stateless: false })
      : this.authenticate(presented);
  }

  /** Charges one request to the caller's per-minute windows: the x-ratelimit-*-requests headers, or the 429. */
  chargeRequest(caller: Caller): Promise<Record<string, string>> {
    return this.requests.charge(caller);
  }
}
