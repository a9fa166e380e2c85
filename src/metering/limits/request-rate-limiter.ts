import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { rateLimitHeaders, scopeName } from './rate-limit-headers.js';
import { RateLimitStore } from './rate-limit-store.js';

const MINUTE_MS = 60_000;

/**
 * Requests per minute, per API key and per user: one request is charged to the key's and the
 * user's windows at once (all or nothing, so a refused request never counts), with their own
 * limits when an admin set them (0 = blocked), else RATE_LIMIT_RPM. Every HTTP request of a
 * limited route and every WebSocket turn is charged here. A guest's request is charged to its
 * client IP's window too (guest.rpm_per_ip), with the others, all or nothing.
 */
@Injectable()
export class RequestRateLimiter {
  constructor(
    private readonly store: RateLimitStore,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Answers the x-ratelimit-*-requests headers, or throws the 429 carrying them. */
  async charge(caller: Caller): Promise<Record<string, string>> {
    const fallback = this.config.limits.rate.rpm;
    const windows = [
      ...(caller.guestIp !== undefined ? [{ key: `rpm:ip:${caller.guestIp}`, limit: this.config.guest.rpmPerIp, scope: 'ip' }] : []),
      { key: `rpm:key:${caller.keyId}`, limit: caller.limits.key.rpm ?? fallback, scope: 'key' },
      { key: `rpm:user:${caller.userId}`, limit: caller.limits.user.rpm ?? fallback, scope: 'user' },
    ];
    const blocked = windows.find((w) => w.limit === 0);
    if (blocked) {
      this.metrics.rateLimitRefusals.inc({ kind: 'requests', scope: blocked.scope });
      throw new DomainError('rate_limited', `Requests are blocked for this ${scopeName(blocked.scope)}.`, {
        type: 'requests',
        code: 'rate_limit_exceeded',
        retryable: false,
      });
    }
    const result = await this.store.charge(windows, MINUTE_MS, 1);
    const headers = rateLimitHeaders('requests', result.states);
    if (!result.admitted) {
      const scope = windows[result.states.findIndex((s, i) => s.used + 1 > windows[i].limit)]?.scope ?? 'key';
      this.metrics.rateLimitRefusals.inc({ kind: 'requests', scope });
      throw new DomainError(
        'rate_limited',
        `Rate limit reached for requests per minute on this ${scopeName(scope)}. Please try again in ${Math.ceil(result.retryAfterMs / 1000)}s.`,
        {
          type: 'requests',
          code: 'rate_limit_exceeded',
          retryAfterSeconds: result.retryAfterMs / 1000,
          headers,
        },
      );
    }
    return headers;
  }
}
