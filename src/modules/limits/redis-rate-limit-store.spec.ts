import { Redis } from 'ioredis';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

const url = process.env.TEST_REDIS_URL;

// Runs against a real Redis (CI sets TEST_REDIS_URL); windows of a second keep it quick.
(url ? describe : describe.skip)('RedisRateLimitStore (needs TEST_REDIS_URL)', () => {
  const clients: Redis[] = [];
  afterAll(async () => {
    for (const c of clients) await c.quit();
  });

  rateLimitStoreContract(() => {
    const client = new Redis(url!);
    clients.push(client);
    return { store: new RedisRateLimitStore(client, `test:${Date.now()}:`), advance: (ms) => new Promise((r) => setTimeout(r, ms)) };
  }, 1_000);
});
