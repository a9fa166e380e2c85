import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { RequestRateLimiter } from '../../metering/limits/request-rate-limiter.js';
import { AdminBootstrap } from '../auth/admin-bootstrap.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';

/**
 * What every request goes through before its handler, on HTTP and on the WebSocket alike: the
 * server must be ready (503 while the first admin is being created), the key valid and not
 * revoked, its user enabled (401), the role sufficient (403), and, on limited routes and socket
 * turns, one request charged to the caller's per-minute windows (429).
 */
@Injectable()
export class RequestPolicy {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly bootstrap: AdminBootstrap,
    private readonly requests: RequestRateLimiter,
  ) {}

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

  /** Charges one request to the caller's per-minute windows: the x-ratelimit-*-requests headers, or the 429. */
  chargeRequest(caller: Caller): Promise<Record<string, string>> {
    return this.requests.charge(caller);
  }
}
