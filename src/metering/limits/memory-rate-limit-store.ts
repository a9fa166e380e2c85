import { bucketOf, type ChargeResult, hasLeft, leavesAt, RateLimitStore, type WindowSpec, type WindowState } from './rate-limit-store.js';

/** Time buckets oldest first, and their sum. */
interface Window {
  buckets: Array<{ bucket: number; amount: number }>;
  sum: number;
}

/** The counters of a single replica (no REDIS_URL), and the fallback while Redis is away. */
export class MemoryRateLimitStore extends RateLimitStore {
  readonly kind = 'memory' as const;
  private readonly windows = new Map<string, Window>();
  private charges = 0;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  async charge(specs: WindowSpec[], windowMs: number, amount: number): Promise<ChargeResult> {
    const now = this.now();
    const bucket = bucketOf(now, windowMs);
    const windows = specs.map((spec) => this.prune(spec.key, bucket));
    let retryAfterMs = 0;
    let admitted = true;
    specs.forEach((spec, i) => {
      const w = windows[i];
      if (w.sum + amount <= spec.limit) return;
      admitted = false;
      if (amount > spec.limit) retryAfterMs = -1;
      else if (retryAfterMs >= 0) retryAfterMs = Math.max(retryAfterMs, waitFor(w, w.sum + amount - spec.limit, windowMs, now));
    });
    if (admitted) {
      for (const w of windows) {
        const last = w.buckets.at(-1);
        if (last?.bucket === bucket) last.amount += amount;
        else w.buckets.push({ bucket, amount });
        w.sum += amount;
      }
    }
    if (++this.charges % 10_000 === 0) this.sweep(bucket);
    return { admitted, ticket: bucket, retryAfterMs: admitted ? 0 : retryAfterMs, states: specs.map((s, i) => state(s, windows[i], windowMs, now)) };
  }

  async settle(keys: string[], _windowMs: number, ticket: number, delta: number): Promise<void> {
    for (const key of keys) {
      const w = this.windows.get(key);
      const b = w?.buckets.find((x) => x.bucket === ticket);
      if (!w || !b) continue;
      b.amount += delta;
      w.sum += delta;
    }
  }

  /** The window with the buckets that left it dropped (see leavesAt). */
  private prune(key: string, bucket: number): Window {
    let w = this.windows.get(key);
    if (!w) {
      w = { buckets: [], sum: 0 };
      this.windows.set(key, w);
    }
    while (w.buckets.length && hasLeft(w.buckets[0].bucket, bucket)) w.sum -= w.buckets.shift()!.amount;
    return w;
  }

  /** Forgets windows with nothing left in them, so idle keys do not accumulate. */
  private sweep(bucket: number): void {
    for (const [key, w] of this.windows) {
      if (!w.buckets.length || hasLeft(w.buckets.at(-1)!.bucket, bucket)) this.windows.delete(key);
    }
  }
}

/** How long until `excess` units have left the window. */
function waitFor(w: Window, excess: number, windowMs: number, now: number): number {
  let freed = 0;
  for (const b of w.buckets) {
    freed += b.amount;
    if (freed >= excess) return Math.max(1, leavesAt(b.bucket, windowMs) - now);
  }
  return windowMs;
}

function state(spec: WindowSpec, w: Window, windowMs: number, now: number): WindowState {
  const oldest = w.buckets[0];
  return { key: spec.key, limit: spec.limit, used: w.sum, resetMs: oldest ? Math.max(0, leavesAt(oldest.bucket, windowMs) - now) : 0 };
}
