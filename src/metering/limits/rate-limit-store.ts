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
  /** Where the charge was recorded (its time bucket); settle() needs it. */
  ticket: number;
  /** When refused: how long until the charge would fit; -1 when it never can (bigger than the limit). */
  retryAfterMs: number;
  states: WindowState[];
}

/**
 * Sliding-window counters shared by every limit: a charge (a request counts 1, a call's token
 * estimate its tokens) is added to the current time bucket, a sixtieth of the window, and a
 * window admits a charge only while its buckets of the last `windowMs` plus the charge stay
 * within its limit. Unlike a fixed window, this never lets 2× the limit through around a
 * boundary (a charge leaves no earlier than `windowMs` after it was made and at most one bucket
 * later: slightly strict, never lax), and unlike a log of every request it costs at most 61
 * buckets per window. A charge covers several windows at once (the key's and the user's) and is
 * all or nothing.
 */
export abstract class RateLimitStore {
  abstract readonly kind: 'memory' | 'redis';

  /** Adds `amount` to every window if each has room, else to none. */
  abstract charge(windows: WindowSpec[], windowMs: number, amount: number): Promise<ChargeResult>;

  /**
   * Corrects a charge by `delta` (a token estimate settling to the real usage), in the bucket
   * its ticket names; a bucket that already left the window is not touched.
   */
  abstract settle(keys: string[], windowMs: number, ticket: number, delta: number): Promise<void>;
}

/** Buckets per window: the window's resolution. */
export const BUCKETS = 60;

// Bucket b covers the milliseconds t with b <= t * BUCKETS / windowMs < b + 1. Computed on
// t * BUCKETS (an exact integer), never on a fractional bucket size, so that bucketOf and
// bucketStart agree to the millisecond and the Lua script can do the same sums.

export function bucketOf(now: number, windowMs: number): number {
  return Math.floor((now * BUCKETS) / windowMs);
}

/** The first millisecond of a bucket. */
export function bucketStart(bucket: number, windowMs: number): number {
  return Math.ceil((bucket * windowMs) / BUCKETS);
}

/**
 * A charge in bucket b stays in the window until bucket b + BUCKETS + 1 begins: a full window
 * after it was made even when made at the bucket's last millisecond (and up to one bucket more
 * when made at its first: slightly strict, never lax). Retry-after and reset point at that moment.
 */
export function leavesAt(bucket: number, windowMs: number): number {
  return bucketStart(bucket + BUCKETS + 1, windowMs);
}

/** Whether bucket b has left the window of the current bucket. */
export function hasLeft(bucket: number, current: number): boolean {
  return bucket <= current - BUCKETS - 1;
}
