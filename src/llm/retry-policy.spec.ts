import { BACKOFF_MAX_MS, backoffMs, RETRY_AFTER_MAX_MS, sleep } from './retry-policy.js';

describe('backoffMs', () => {
  it('grows exponentially with jitter between half and all of the ceiling', () => {
    expect(backoffMs(0, undefined, () => 0)).toBe(125);
    expect(backoffMs(0, undefined, () => 1)).toBe(250);
    expect(backoffMs(3, undefined, () => 0)).toBe(1000);
    expect(backoffMs(3, undefined, () => 1)).toBe(2000);
  });

  it('is bounded', () => {
    expect(backoffMs(20, undefined, () => 1)).toBe(BACKOFF_MAX_MS);
  });

  it('honours retry-after, and gives up on one too long to wait for', () => {
    expect(backoffMs(0, 3_000)).toBe(3_000);
    expect(backoffMs(0, 0)).toBe(0);
    expect(backoffMs(0, RETRY_AFTER_MAX_MS + 1)).toBeNull();
  });
});

describe('sleep', () => {
  it('stops early when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const slept = sleep(10_000, controller.signal);
    controller.abort(new Error('gone'));
    await expect(slept).rejects.toThrow('gone');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
