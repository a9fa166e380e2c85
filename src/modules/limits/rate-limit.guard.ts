import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import type { SharedRateLimitStore } from './shared-rate-limit-store.js';

/**
 * Requests per minute, per API key and per user, through @nestjs/throttler: its module holds the
 * window and the default limit (RATE_LIMIT_RPM) and its storage the counters; this guard charges
 * one request to the key's and the user's windows at once (all or nothing, so a refused request
 * never counts), with their own limits when an admin set them (0 = blocked). Every response of
 * the route carries OpenAI's x-ratelimit-*-requests headers, refusals included.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: MetricsService,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (request.caller) reply.headers(await this.charge(request.caller));
    return true;
  }

  /**
   * Charges one request to the caller's per-minute windows (also for each message on a
   * WebSocket): answers the x-ratelimit-*-requests headers, or throws the 429 carrying them.
   */
  async charge(caller: Caller): Promise<Record<string, string>> {
    const throttler = this.throttlers[0];
    const ttl = Number(throttler.ttl);
    const fallback = Number(throttler.limit);
    const windows = [
      { key: `rpm:key:${caller.keyId}`, limit: caller.limits.key.rpm ?? fallback, scope: 'key' },
      { key: `rpm:user:${caller.userId}`, limit: caller.limits.user.rpm ?? fallback, scope: 'user' },
    ];
    const blocked = windows.find((w) => w.limit === 0);
    if (blocked) {
      this.metrics.rateLimitRefusals.inc({ kind: 'requests', scope: blocked.scope });
      throw new DomainError('rate_limited', `Requests are blocked for this ${blocked.scope === 'key' ? 'API key' : 'user'}.`, {
        type: 'requests',
        code: 'rate_limit_exceeded',
        retryable: false,
      });
    }
    const store = this.storageService as SharedRateLimitStore;
    const result = await store.charge(windows, ttl, 1);
    const headers = rateLimitHeaders('requests', result.states);
    if (!result.admitted) {
      const scope = windows[result.states.findIndex((s, i) => s.used + 1 > windows[i].limit)]?.scope ?? 'key';
      this.metrics.rateLimitRefusals.inc({ kind: 'requests', scope });
      throw new DomainError('rate_limited', `Rate limit reached for requests per minute on this ${scope === 'key' ? 'API key' : 'user'}. Please try again in ${Math.ceil(result.retryAfterMs / 1000)}s.`, {
        type: 'requests',
        code: 'rate_limit_exceeded',
        retryAfterSeconds: result.retryAfterMs / 1000,
        headers,
      });
    }
    return headers;
  }
}
