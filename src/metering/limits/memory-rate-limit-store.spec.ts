import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

describe('MemoryRateLimitStore', () => {
  rateLimitStoreContract(
    () => {
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
    },
    60_000,
    { controlledClock: true },
  );
});
