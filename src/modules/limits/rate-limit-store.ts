import type { ThrottlerStorage } from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';

/** One sliding window to charge: `limit` units (requests or tokens) per window. */
export interface WindowSpec {
  key: string;
  limit: number;
}

export interface WindowState {
  key: string;
  limit: number;
  /** Units in the window, this charge included when admitted. */
  used: number;
  /** Until the oldest unit in the window leaves it. */
  resetMs: number;
}

export interface ChargeResult {
  admitted: boolean;
  /** When refused: how long until the charge would fit; -1 when it never can (bigger than the limit). */
  retryAfterMs: number;
  states: WindowState[];
}

/**
 * Sliding-window counters shared by every limit: a charge is a timestamped entry (a request
 * counts 1, a call's token estimate counts its tokens) and a window admits a charge only while
 * the entries of the last `windowMs` plus the charge stay within its limit. Unlike a fixed
 * window, this never lets 2× the limit through around a boundary. A charge covers several
 * windows at once (the key's and the user's) and is all or nothing.
 *
 * Implements Nest's ThrottlerStorage, so @nestjs/throttler's guard and decorators run on it.
 */
export abstract class RateLimitStore implements ThrottlerStorage {
  abstract readonly kind: 'memory' | 'redis';

  /** Adds `amount` under `id` to every window if each has room, else to none. */
  abstract charge(windows: WindowSpec[], windowMs: number, id: string, amount: number): Promise<ChargeResult>;

  /** Replaces a charge's amount with the actual figure (a token estimate settling to the usage). */
  abstract settle(keys: string[], id: string, amount: number): Promise<void>;

  async increment(key: string, ttl: number, limit: number, _block: number, _name: string): ReturnType<ThrottlerStorage['increment']> {
    const result = await this.charge([{ key, limit }], ttl, randomUUID(), 1);
    const state = result.states[0];
    return {
      totalHits: result.admitted ? state.used : state.used + 1,
      timeToExpire: Math.ceil(state.resetMs / 1000),
      isBlocked: !result.admitted,
      timeToBlockExpire: Math.ceil(Math.max(0, result.retryAfterMs) / 1000),
    };
  }
}
