import { randomUUID } from 'node:crypto';
import { DomainError } from '../../common/errors/domain-error.js';
import { toHttpError } from '../../common/errors/error-table.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { BUCKETS, type RateLimitStore } from './rate-limit-store.js';

export interface ContractSubject {
  store: RateLimitStore;
  advance: (ms: number) => Promise<void>;
  /** With a controllable clock: sets it (absolute milliseconds), for charges at exact bucket edges. */
  setNow?: (ms: number) => void;
}

/**
 * What every rate-limit store must do, run against the memory store (fake clock), the Redis
 * store on a fake clock (the script's `now` argument) and on Redis's own time (short windows).
 */
export function rateLimitStoreContract(make: () => ContractSubject, windowMs: number, options: { controlledClock?: boolean } = {}): void {
  const key = () => `t:${randomUUID()}`;
  const charge = (store: RateLimitStore, keys: Array<[string, number]>, amount = 1) =>
    store.charge(
      keys.map(([k, limit]) => ({ key: k, limit })),
      windowMs,
      amount,
    );
  const size = windowMs / BUCKETS;
  // Whole buckets, well away from 0, so that bucket edges are plain multiples of `size`.
  const edge = (bucket: number) => Math.ceil((bucket * windowMs) / BUCKETS);
  const B0 = Math.ceil(1.7e12 / size);
  const withClock = (fn: (subject: ContractSubject & { setNow: (ms: number) => void }) => Promise<void>) => async () => {
    const subject = make();
    if (!subject.setNow) throw new Error('this store was declared with a controlled clock but has no setNow');
    await fn(subject as ContractSubject & { setNow: (ms: number) => void });
  };
  // Charges at exact bucket edges need a clock the test sets; real time is covered by the rest.
  const onClock = options.controlledClock ? describe : describe.skip;

  onClock('at bucket edges, on a clock the test sets', () => {
    describe.each([
      ['at the very start of a bucket', 0],
      ['at the very end of a bucket', -1],
    ])('a charge made %s', (_, offset) => {
      const madeAt = offset === 0 ? edge(B0) : edge(B0 + 1) + offset;

      it(
        'leaves the window no earlier than windowMs after it, exactly when retry-after and reset say',
        withClock(async ({ store, setNow }) => {
          const k = key();
          setNow(madeAt);
          expect((await charge(store, [[k, 1]])).admitted).toBe(true);
          for (const refusedAt of [madeAt, madeAt + windowMs - 1]) {
            setNow(refusedAt);
            const refused = await charge(store, [[k, 1]]);
            expect(refused.admitted).toBe(false);
            const leaves = refusedAt + refused.retryAfterMs;
            expect(leaves).toBeGreaterThanOrEqual(madeAt + windowMs);
            expect(leaves).toBeLessThanOrEqual(madeAt + windowMs + size);
            // The reset of the window (and its header) names the same moment.
            expect(refused.states[0].resetMs).toBe(refused.retryAfterMs);
            expect(parseDuration(rateLimitHeaders('requests', refused.states)['x-ratelimit-reset-requests'])).toBe(refused.retryAfterMs);
          }
          setNow(madeAt + windowMs - 1);
          const last = await charge(store, [[k, 1]]);
          setNow(madeAt + windowMs - 1 + last.retryAfterMs - 1);
          expect((await charge(store, [[k, 1]])).admitted).toBe(false);
          setNow(madeAt + windowMs - 1 + last.retryAfterMs);
          expect((await charge(store, [[k, 1]])).admitted).toBe(true);
        }),
      );

      it(
        'is admitted again by a request sent exactly retry-after (whole seconds) after the refusal',
        withClock(async ({ store, setNow }) => {
          for (const refusedAt of [madeAt, madeAt + 1, madeAt + windowMs / 2, madeAt + windowMs - 1]) {
            const k = key();
            setNow(madeAt);
            expect((await charge(store, [[k, 1]])).admitted).toBe(true);
            setNow(refusedAt);
            const refused = await charge(store, [[k, 1]]);
            expect(refused.admitted).toBe(false);
            const http = toHttpError(new DomainError('rate_limited', 'x', { retryAfterSeconds: refused.retryAfterMs / 1000 }));
            setNow(refusedAt + Number(http.headers['retry-after']) * 1000);
            expect((await charge(store, [[k, 1]])).admitted).toBe(true);
          }
        }),
      );
    });

    it(
      'counts tokens the same way: the wait is until enough of the oldest charges have left',
      withClock(async ({ store, setNow }) => {
        const k = key();
        const times = [edge(B0), edge(B0 + 11) - 1, edge(B0 + 20) + 1];
        for (const t of times) {
          setNow(t);
          expect((await charge(store, [[k, 300]], 100)).admitted).toBe(true);
        }
        const refusedAt = edge(B0 + 30);
        setNow(refusedAt);
        const refused = await charge(store, [[k, 300]], 200);
        expect(refused.admitted).toBe(false);
        // The first two charges must leave; the second, made at its bucket's last millisecond, a full window later.
        const freeAt = refusedAt + refused.retryAfterMs;
        expect(freeAt).toBeGreaterThanOrEqual(times[1] + windowMs);
        expect(freeAt).toBeLessThanOrEqual(times[1] + windowMs + size);
        expect(refused.states[0].resetMs).toBeLessThan(refused.retryAfterMs);
        setNow(freeAt - 1);
        const early = await charge(store, [[k, 300]], 200);
        expect(early).toMatchObject({ admitted: false, states: [{ used: 200 }] });
        setNow(freeAt);
        expect(await charge(store, [[k, 300]], 200)).toMatchObject({ admitted: true, states: [{ used: 300 }] });
      }),
    );
  });

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
    expect(
      (
        await charge(store, [
          [a, 5],
          [b, 1],
        ])
      ).admitted,
    ).toBe(true);
    const refused = await charge(store, [
      [a, 5],
      [b, 1],
    ]);
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

/** Reads x-ratelimit-reset-* (`250ms`, `1.5s`, `1m0.5s`) back into milliseconds. */
function parseDuration(text: string): number {
  const m = /^(?:(\d+)m)?(?:([\d.]+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || !text) throw new Error(`not a duration: ${text}`);
  return Math.round(Number(m[1] ?? 0) * 60_000 + Number(m[2] ?? 0) * 1000 + Number(m[3] ?? 0));
}
