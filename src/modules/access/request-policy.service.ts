import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { RequestRateLimiter } from '../../metering/limits/request-rate-limiter.js';
import { AdminBootstrap } from '../auth/admin-bootstrap.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { GuestAccess } from '../auth/guest-access.service.js';

/**
 * What every request goes through before its handler, on HTTP and on the WebSocket alike: the
 * server must be ready (503 while the first admin is being created), the key valid and not
 * revoked, its user enabled (401), the role sufficient (403), and, on limited routes and socket
 * turns, one request charged to the caller's per-minute windows (429). With guest access on, a
 * request without an Authorization header is the guest instead, on the routes open to guests.
 */
@Injectable()
export class RequestPolicy {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly bootstrap: AdminBootstrap,
    private readonly requests: RequestRateLimiter,
    private readonly guests: GuestAccess,
  ) {}

  /** Whether a request without an Authorization header may act as the guest (else it is a 401). */
  get guestAccess(): boolean {
    return this.guests.enabled;
  }

  /** The caller behind an Authorization header value (`Bearer <key>`). */
  async authenticate(authorization: string | undefined, options: { admin?: boolean } = {}): Promise<Caller> {
    if (!this.bootstrap.ready) {
      throw new DomainError('unavailable', 'The server is starting; retry in a moment.', { retryAfterSeconds: 1 });
    }
    const caller = await this.keys.authenticate(authorization);
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
   * The caller of a chat socket's turn: the key presented (header or subprotocol), else the guest
   * when guest access is on (a /chat turn: not a stateless route).
   */
  authenticateSocket(presented: string | undefined, ip: string): Promise<Caller> {
    return presented === undefined && this.guestAccess ? this.authenticateGuest(ip, { stateless: false }) : this.authenticate(presented);
  }

  /** Charges one request to the caller's per-minute windows: the x-ratelimit-*-requests headers, or the 429. */
  chargeRequest(caller: Caller): Promise<Record<string, string>> {
    return this.requests.charge(caller);
  }
}
