import { DomainError } from '../../common/errors/domain-error.js';
import type { AppLogger } from '../../common/logging/logger.js';
import type { RedisService } from '../../redis/redis.service.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { type ChargeResult, RateLimitStore, type WindowSpec } from './rate-limit-store.js';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';

/**
 * Redis when it answers, so that every replica counts against the same windows; this replica's
 * own memory while it does not (REDIS_FAIL_OPEN, the default), or a 503 when failing closed.
 * Either way /health says which is in use.
 */
export class SharedRateLimitStore extends RateLimitStore {
  private readonly local = new MemoryRateLimitStore();
  private readonly shared: RedisRateLimitStore | null;
  private usingFallback = false;

  constructor(
    private readonly redis: RedisService,
    private readonly failOpen: boolean,
    private readonly logger: AppLogger,
  ) {
    super();
    this.shared = redis.client ? new RedisRateLimitStore(redis.client) : null;
  }

  get kind(): 'memory' | 'redis' {
    return this.shared && !this.usingFallback ? 'redis' : 'memory';
  }

  /** What /health reports: where the counters live right now. */
  get status(): { store: 'memory' | 'redis'; fallback: boolean } {
    return { store: this.kind, fallback: this.usingFallback };
  }

  async charge(windows: WindowSpec[], windowMs: number, amount: number): Promise<ChargeResult> {
    // A window that took NaN would refuse every later charge until restart.
    if (!Number.isSafeInteger(amount) || amount < 0) throw new DomainError('internal', `A rate-limit charge of ${amount} is not a count.`);
    if (this.shared && this.redis.state === 'up') {
      try {
        const result = await this.shared.charge(windows, windowMs, amount);
        if (this.usingFallback) this.logger.info('rate limits: back on Redis');
        this.usingFallback = false;
        return result;
      } catch (err) {
        return this.fallback(err, () => this.local.charge(windows, windowMs, amount));
      }
    }
    if (this.shared) return this.fallback(new Error(this.redis.error ?? 'not connected'), () => this.local.charge(windows, windowMs, amount));
    return this.local.charge(windows, windowMs, amount);
  }

  async settle(keys: string[], windowMs: number, ticket: number, delta: number): Promise<void> {
    if (!Number.isSafeInteger(delta)) {
      this.logger.error({ delta }, 'rate limits: refused to settle a charge by a non-integer');
      return;
    }
    // Only where the charge went: a ticket names a bucket, which both stores may hold.
    if (this.kind === 'redis') await this.shared!.settle(keys, windowMs, ticket, delta).catch(() => undefined);
    else await this.local.settle(keys, windowMs, ticket, delta);
  }

  private fallback(err: unknown, run: () => Promise<ChargeResult>): Promise<ChargeResult> {
    if (!this.failOpen) {
      throw new DomainError('unavailable', 'Rate limits cannot be checked right now (Redis is unavailable); retry shortly.', {
        retryAfterSeconds: 2,
      });
    }
    if (!this.usingFallback) this.logger.warn({ err: (err as Error).message }, 'rate limits: Redis unavailable, counting on this replica only');
    this.usingFallback = true;
    return run();
  }
}
