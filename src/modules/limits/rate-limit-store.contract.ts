import { randomUUID } from 'node:crypto';
import type { RateLimitStore } from './rate-limit-store.js';

/**
 * What every rate-limit store must do, run against the memory store (fake clock) and the Redis
 * store (a real server, real time, short windows).
 */
export function rateLimitStoreContract(make: () => { store: RateLimitStore; advance: (ms: number) => Promise<void> }, windowMs: number): void {
  const key = () => `t:${randomUUID()}`;
  const charge = (store: RateLimitStore, keys: Array<[string, number]>, amount = 1) =>
    store.charge(keys.map(([k, limit]) => ({ key: k, limit })), windowMs, amount);

  it('admits up to the limit, then refuses with the wait until a slot frees', async () => {
    const { store } = make();
    const k = key();
    for (let i = 1; i <= 3; i++) {
      const r = await charge(store, [[k, 3]]);
      expect(r.admitted).toBe(true);
      expect(r.states[0]).toMatchObject({ limit: 3, used: i });
    }
    const refused = await charge(store, [[k, 3]]);
    expect(refused.admitted).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    // At most one bucket (a sixtieth of the window) later than the oldest charge leaves.
    expect(refused.retryAfterMs).toBeLessThanOrEqual(windowMs + (2 * windowMs) / 60);
    expect(refused.states[0].used).toBe(3);
  });

  it('slides: a window ending does not let twice the limit through around its boundary', async () => {
    const { store, advance } = make();
    const k = key();
    await advance(windowMs * 0.9);
    for (let i = 0; i < 2; i++) expect((await charge(store, [[k, 2]])).admitted).toBe(true);
    await advance(windowMs * 0.2); // past where a fixed window would have restarted
    expect((await charge(store, [[k, 2]])).admitted).toBe(false);
    await advance(windowMs * 0.85); // now the first two have left the window
    expect((await charge(store, [[k, 2]])).admitted).toBe(true);
  });

  it('charges several windows all or nothing', async () => {
    const { store } = make();
    const [a, b] = [key(), key()];
    expect((await charge(store, [[a, 5], [b, 1]])).admitted).toBe(true);
    const refused = await charge(store, [[a, 5], [b, 1]]);
    expect(refused.admitted).toBe(false);
    // The refused charge did not count against the window that had room.
    expect((await charge(store, [[a, 5]])).states[0].used).toBe(2);
  });

  it('settles a token estimate to the actual figure, freeing room', async () => {
    const { store } = make();
    const k = key();
    const estimate = await charge(store, [[k, 1000]], 900);
    expect(estimate.admitted).toBe(true);
    expect((await charge(store, [[k, 1000]], 200)).admitted).toBe(false);
    await store.settle([k], windowMs, estimate.ticket, 100 - 900);
    const after = await charge(store, [[k, 1000]], 200);
    expect(after.admitted).toBe(true);
    expect(after.states[0].used).toBe(300);
  });

  it('says when a charge can never fit', async () => {
    const { store } = make();
    expect((await charge(store, [[key(), 100]], 101)).retryAfterMs).toBe(-1);
  });
}
