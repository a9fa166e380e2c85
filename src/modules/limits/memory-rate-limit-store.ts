import { type ChargeResult, RateLimitStore, type WindowSpec, type WindowState } from './rate-limit-store.js';

interface Entry {
  at: number;
  amount: number;
}

/** Entries in time order from `head` on (a moving start, compacted now and then, not spliced per call). */
interface Window {
  entries: Entry[];
  head: number;
  sum: number;
  byId: Map<string, Entry>;
  ids: string[];
}

/** The counters of a single replica (no REDIS_URL), and the fallback while Redis is away. */
export class MemoryRateLimitStore extends RateLimitStore {
  readonly kind = 'memory' as const;
  private readonly windows = new Map<string, Window>();
  private charges = 0;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  async charge(specs: WindowSpec[], windowMs: number, id: string, amount: number): Promise<ChargeResult> {
    const now = this.now();
    const windows = specs.map((spec) => this.prune(spec.key, now - windowMs));
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
        const entry = { at: now, amount };
        w.entries.push(entry);
        w.ids.push(id);
        w.byId.set(id, entry);
        w.sum += amount;
      }
    }
    if (++this.charges % 10_000 === 0) this.sweep(now - windowMs);
    return { admitted, retryAfterMs: admitted ? 0 : retryAfterMs, states: specs.map((s, i) => state(s, windows[i], windowMs, now)) };
  }

  async settle(keys: string[], id: string, amount: number): Promise<void> {
    for (const key of keys) {
      const w = this.windows.get(key);
      const entry = w?.byId.get(id);
      if (!w || !entry) continue;
      w.sum += amount - entry.amount;
      entry.amount = amount;
    }
  }

  private prune(key: string, cutoff: number): Window {
    let w = this.windows.get(key);
    if (!w) {
      w = { entries: [], head: 0, sum: 0, byId: new Map(), ids: [] };
      this.windows.set(key, w);
    }
    while (w.head < w.entries.length && w.entries[w.head].at <= cutoff) {
      w.sum -= w.entries[w.head].amount;
      w.byId.delete(w.ids[w.head]);
      w.head++;
    }
    if (w.head > 1024 && w.head * 2 > w.entries.length) {
      w.entries = w.entries.slice(w.head);
      w.ids = w.ids.slice(w.head);
      w.head = 0;
    }
    return w;
  }

  /** Forgets windows with nothing left in them, so idle keys do not accumulate. */
  private sweep(cutoff: number): void {
    for (const [key, w] of this.windows) {
      if (w.head >= w.entries.length || w.entries.at(-1)!.at <= cutoff) this.windows.delete(key);
    }
  }
}

/** How long until `excess` units have left the window. */
function waitFor(w: Window, excess: number, windowMs: number, now: number): number {
  let freed = 0;
  for (let i = w.head; i < w.entries.length; i++) {
    freed += w.entries[i].amount;
    if (freed >= excess) return Math.max(1, w.entries[i].at + windowMs - now);
  }
  return windowMs;
}

function state(spec: WindowSpec, w: Window, windowMs: number, now: number): WindowState {
  const oldest = w.entries[w.head];
  return { key: spec.key, limit: spec.limit, used: w.sum, resetMs: oldest ? Math.max(0, oldest.at + windowMs - now) : 0 };
}
