import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

describe('MemoryRateLimitStore', () => {
  rateLimitStoreContract(() => {
    let now = 1_000_000;
    return {
      store: new MemoryRateLimitStore(() => now),
      advance: async (ms) => {
        now += ms;
      },
      setNow: (ms) => {
        now = ms;
      },
    };
  }, 60_000, { controlledClock: true });

  it('implements ThrottlerStorage for @nestjs/throttler', async () => {
    const store = new MemoryRateLimitStore();
    const first = await store.increment('k', 60_000, 1, 0, 'requests');
    expect(first).toMatchObject({ totalHits: 1, isBlocked: false });
    const second = await store.increment('k', 60_000, 1, 0, 'requests');
    expect(second).toMatchObject({ totalHits: 2, isBlocked: true });
    expect(second.timeToBlockExpire).toBeGreaterThan(0);
  });
});
