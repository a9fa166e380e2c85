import { Redis } from 'ioredis';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

const url = process.env.TEST_REDIS_URL;

// Runs against a real Redis (CI sets TEST_REDIS_URL).
(url ? describe : describe.skip)('RedisRateLimitStore (needs TEST_REDIS_URL)', () => {
  const clients: Redis[] = [];
  const client = () => {
    const c = new Redis(url!);
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) await c.quit();
  });

  describe('on a clock the test controls (the script takes it instead of Redis TIME)', () => {
    rateLimitStoreContract(
      () => {
        let now = 1_000_000;
        return {
          store: new RedisRateLimitStore(client(), `test:${Date.now()}:`, () => now),
          advance: async (ms) => {
            now += ms;
          },
          setNow: (ms) => {
            now = ms;
          },
        };
      },
      60_000,
      { controlledClock: true },
    );
  });

  describe("on Redis's own time, windows of a second", () => {
    rateLimitStoreContract(
      () => ({ store: new RedisRateLimitStore(client(), `test:${Date.now()}:`), advance: (ms) => new Promise((r) => setTimeout(r, ms)) }),
      1_000,
    );
  });

  describe("on Redis's own time, a 600 ms window (buckets of 10 ms)", () => {
    const windowMs = 600;
    const one = (store: RedisRateLimitStore, key: string) => store.charge([{ key, limit: 1 }], windowMs, 1);
    /** Redis's clock in milliseconds, as the script reads it. */
    const redisNow = async (c: Redis) => {
      const [s, us] = await c.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };

    it('admits once retry-after has passed', async () => {
      const store = new RedisRateLimitStore(client(), `test:${Date.now()}:`);
      expect((await one(store, 'a')).admitted).toBe(true);
      const refused = await one(store, 'a');
      expect(refused.admitted).toBe(false);
      await new Promise((r) => setTimeout(r, refused.retryAfterMs));
      expect((await one(store, 'a')).admitted).toBe(true);
    });

    it('admits nothing before a full window after a charge made at the end of a bucket', async () => {
      const c = client();
      const store = new RedisRateLimitStore(c, `test:${Date.now()}:`);
      // Charge in the last milliseconds of a bucket, where a window one bucket short shows most.
      let before = await redisNow(c);
      while (before % 10 < 7) before = await redisNow(c);
      expect((await one(store, 'b')).admitted).toBe(true);
      let after: number | null = null;
      while (after === null && (await redisNow(c)) - before < 5 * windowMs) {
        if ((await one(store, 'b')).admitted) after = await redisNow(c);
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // The charge happened at or after `before`, the admission at or before `after`.
      expect(after).not.toBeNull();
      expect(after! - before).toBeGreaterThanOrEqual(windowMs);
    });
  });
});
