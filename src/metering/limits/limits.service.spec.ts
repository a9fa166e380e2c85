import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller, LimitSet } from '../../common/http/caller.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import type { TokenUsage } from '../../llm/pricing.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { MemoryBudgetLedger } from '../../../test/fakes/memory-budget-ledger.js';
import { memoryLogger, type MemoryLogger } from '../../../test/fakes/memory-logger.js';
import { testConfig } from '../../../test/factories/app-config.js';
import type { CallPlan } from '../call.js';
import { periodStart } from './budget-ledger.js';
import { LimitsService } from './limits.service.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';

const TPM = 1_000;
const config = testConfig({
  limits: { rate: { tpm: TPM } },
  upstream: { timeout_ms: 60_000 },
  providers: { acme: { base_url: 'http://acme.test/v1', api_key: 'k' } },
  // Micro-dollars per token: 2 per prompt token, 10 per completion token.
  models: [{ id: 'priced', provider: 'acme', context_window: 100_000, pricing: { input: 2, output: 10 } }],
});
const catalog = new ModelCatalog(config, []);
const model = catalog.resolve('priced');
const NOW = new Date('2025-03-14T12:00:00.000Z');
const TODAY = periodStart('day', NOW);

const noLimits: LimitSet = { rpm: null, tpm: null, budget: null };
function callerWith(limits: { user?: Partial<LimitSet>; key?: Partial<LimitSet> } = {}, ids = { userId: 'user-1', keyId: 'key-1' }): Caller {
  return { ...ids, role: 'user', name: 'Ada', limits: { user: { ...noLimits, ...limits.user }, key: { ...noLimits, ...limits.key } } };
}
function plan(promptTokens: number, maxOutputTokens: number, extra: Partial<CallPlan> = {}): CallPlan {
  return { model, responseModel: 'priced', promptTokens, maxOutputTokens, ...extra };
}
function used(promptTokens: number, completionTokens: number): TokenUsage {
  return { promptTokens, completionTokens, cachedTokens: 0, reasoningTokens: 0 };
}
function refusal(promise: Promise<unknown>): Promise<DomainError> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(DomainError);
      return err as DomainError;
    },
  );
}

describe('LimitsService', () => {
  let ledger: MemoryBudgetLedger;
  let metrics: MetricsService;
  let log: MemoryLogger;
  let limits: LimitsService;

  beforeAll(() => {
    metrics = new MetricsService(catalog);
  });
  beforeEach(() => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'queueMicrotask'] });
    ledger = new MemoryBudgetLedger();
    log = memoryLogger();
    metrics.registry.resetMetrics();
    // The store's clock is Date.now, which the fake timers move.
    limits = new LimitsService(new MemoryRateLimitStore(), ledger, metrics, config, log.logger);
  });
  afterEach(() => jest.useRealTimers());

  async function refusals(): Promise<Array<{ labels: object; value: number }>> {
    return (await metrics.rateLimitRefusals.get()).values.map(({ labels, value }) => ({ labels, value }));
  }

  describe('tokens per minute', () => {
    it('admits a call within the limit, holding its estimate (prompt + the most it may answer), and says what is left', async () => {
      const hold = await limits.hold(callerWith(), plan(100, 300));
      expect(hold.headers).toMatchObject({ 'x-ratelimit-limit-tokens': String(TPM), 'x-ratelimit-remaining-tokens': '600' });
    });

    it('holds what the plan reserves for the answer (a call without max_tokens), not its worst case', async () => {
      const hold = await limits.hold(callerWith(), plan(100, 800, { reservedOutputTokens: 100 }));
      expect(hold.headers).toMatchObject({ 'x-ratelimit-remaining-tokens': String(TPM - 200) });
      await hold.release(used(100, 700), 0);
      const next = await limits.hold(callerWith(), plan(10, 0));
      expect(next.headers).toMatchObject({ 'x-ratelimit-remaining-tokens': String(TPM - 800 - 10) });
    });

    it('refuses a call the window cannot take now, with when to retry, and counts the refusal', async () => {
      await limits.hold(callerWith(), plan(100, 300));
      const err = await refusal(limits.hold(callerWith(), plan(100, 600)));

      expect(err).toMatchObject({ kind: 'rate_limited', type: 'tokens', code: 'rate_limit_exceeded', retryable: true });
      expect(err.message).toBe(
        `Rate limit reached for tokens per minute on this API key: this request needs 700 tokens. Please try again in ${err.retryAfterSeconds}s.`,
      );
      expect(err.retryAfterSeconds).toBeGreaterThan(0);
      expect(err.retryAfterSeconds).toBeLessThanOrEqual(61);
      expect(err.headers).toMatchObject({ 'x-ratelimit-remaining-tokens': '600' });
      expect(await refusals()).toEqual([{ labels: { kind: 'tokens', scope: 'key' }, value: 1 }]);
    });

    it('admits the call again once the window has moved past the earlier one', async () => {
      await limits.hold(callerWith(), plan(100, 300));
      const err = await refusal(limits.hold(callerWith(), plan(100, 600)));
      jest.advanceTimersByTime(err.retryAfterSeconds! * 1000);
      await expect(limits.hold(callerWith(), plan(100, 600))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-tokens': '300' } });
    });

    it('refuses for good, without a retry-after, a call bigger than the limit itself', async () => {
      const err = await refusal(limits.hold(callerWith(), plan(100, 2_000)));
      expect(err).toMatchObject({ kind: 'rate_limited', retryable: false, retryAfterSeconds: undefined });
      expect(err.message).toBe(
        "This request may use 2100 tokens (prompt + max_tokens), more than the API key's limit of 1000 tokens per minute; lower max_tokens.",
      );
    });

    it('names the window that can never take the call, not another that is only full for now', async () => {
      await limits.hold(callerWith(), plan(100, 700));
      // The user's limit was lowered since: the key is full for now, the user could never take it.
      const err = await refusal(limits.hold(callerWith({ user: { tpm: 250 } }), plan(100, 200)));
      expect(err).toMatchObject({ retryable: false });
      expect(err.message).toContain("more than the user's limit of 250 tokens per minute");
    });

    it("holds the call against the user's window too, across the user's keys", async () => {
      const limitsOf = { user: { tpm: 1_000 }, key: { tpm: 800 } };
      await limits.hold(callerWith(limitsOf, { userId: 'user-1', keyId: 'key-1' }), plan(100, 500));
      const err = await refusal(limits.hold(callerWith(limitsOf, { userId: 'user-1', keyId: 'key-2' }), plan(100, 500)));
      expect(err.message).toMatch(
        /^Rate limit reached for tokens per minute on this user: this request needs 600 tokens\. Please try again in \d+s\.$/,
      );
      await expect(limits.hold(callerWith(limitsOf, { userId: 'user-2', keyId: 'key-3' }), plan(100, 500))).resolves.toBeDefined();
    });

    it('blocks tokens outright at a limit of 0', async () => {
      const err = await refusal(limits.hold(callerWith({ key: { tpm: 0 } }), plan(1, 1)));
      expect(err).toMatchObject({ kind: 'rate_limited', retryable: false, message: 'Tokens are blocked for this API key.' });
    });

    it('settles the window to what the call used: the unused part of the estimate is given back', async () => {
      const first = await limits.hold(callerWith(), plan(100, 700));
      await refusal(limits.hold(callerWith(), plan(100, 300)));

      await first.release(used(100, 50), 0);
      await expect(limits.hold(callerWith(), plan(100, 300))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-tokens': '450' } });
    });

    it('charges a call that used more than estimated at what it used', async () => {
      const first = await limits.hold(callerWith(), plan(100, 100));
      // The upstream counted more prompt tokens than we did.
      await first.release(used(300, 100), 0);
      await refusal(limits.hold(callerWith(), plan(100, 550)));
      await expect(limits.hold(callerWith(), plan(100, 500))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-tokens': '0' } });
    });

    it('settles a hold once, however often it is released', async () => {
      const first = await limits.hold(callerWith(), plan(100, 700));
      await first.release(used(100, 0), 0);
      await first.release(used(100, 0), 0);
      await limits.hold(callerWith(), plan(100, 800));
      await refusal(limits.hold(callerWith(), plan(1, 0)));
    });

    it('keeps the estimate charged when the usage to settle is not a number', async () => {
      const first = await limits.hold(callerWith(), plan(100, 700));
      await first.release(used(Number.NaN, 0), 0);
      await refusal(limits.hold(callerWith(), plan(100, 300)));
      await expect(limits.hold(callerWith(), plan(100, 100))).resolves.toBeDefined();
    });
  });

  describe('budgets', () => {
    const daily = (micros: number) => ({ budget: { micros, period: 'day' as const } });
    // 95 prompt tokens padded to ceil(104.5) + 32 = 137 at 2, and 300 completion tokens at 10.
    const WORST = 137 * 2 + 300 * 10;

    it("reserves the call's worst case, padded for the upstream's count, and settles it to the actual cost", async () => {
      const hold = await limits.hold(callerWith({ user: daily(10_000) }), plan(95, 300));
      expect(ledger.counter('user', 'user-1', TODAY)).toEqual({ spent: 0, reserved: WORST });

      await hold.release(used(100, 50), 700);
      expect(ledger.counter('user', 'user-1', TODAY)).toEqual({ spent: 700, reserved: 0 });
    });

    it('holds the worst case against budgets even when tokens per minute holds less', async () => {
      await limits.hold(callerWith({ user: daily(10_000) }), plan(95, 300, { reservedOutputTokens: 10 }));
      expect(ledger.counter('user', 'user-1', TODAY)).toEqual({ spent: 0, reserved: WORST });
    });

    it("holds the key's and the user's budgets alike, and adds the cost to both", async () => {
      const hold = await limits.hold(callerWith({ user: daily(10_000), key: { budget: { micros: 5_000, period: 'month' } } }), plan(100, 300));
      await hold.release(used(100, 50), 700);
      expect(ledger.counter('user', 'user-1', TODAY)).toEqual({ spent: 700, reserved: 0 });
      expect(ledger.counter('key', 'key-1', periodStart('month', NOW))).toEqual({ spent: 700, reserved: 0 });
    });

    it('refuses a call whose worst case would pass the budget, says what is left, and gives its tokens back', async () => {
      ledger.recorded('user', 'user-1', TODAY, 8_000);
      const err = await refusal(limits.hold(callerWith({ user: daily(10_000) }), plan(95, 300)));

      expect(err).toMatchObject({ kind: 'quota_exceeded', retryable: false });
      expect(err.message).toBe(
        "You exceeded this user's budget of $0.01 for today (UTC): $0.002 is left and this request could cost up to $0.003274. Lower max_tokens, or ask an admin to raise the budget.",
      );
      expect(ledger.counter('user', 'user-1', TODAY)).toBeNull();
      expect((await metrics.budgetRefusals.get()).values).toEqual([expect.objectContaining({ labels: { scope: 'user' }, value: 1 })]);
      // The tokens charged before the budget said no were given back: the whole minute is free.
      await expect(limits.hold(callerWith(), plan(0, TPM))).resolves.toBeDefined();
    });

    it('reserves nothing against any budget when one of them refuses', async () => {
      const err = await refusal(limits.hold(callerWith({ user: daily(10_000), key: daily(1_000) }), plan(100, 300)));
      expect(err.message).toContain('API key');
      expect(ledger.counter('user', 'user-1', TODAY)).toBeNull();
    });

    it("holds the plan's own worst case where tokens do not tell (images priced per image)", async () => {
      await refusal(limits.hold(callerWith({ user: daily(30_000) }), plan(10, 0, { worstCostMicros: 40_000 })));
      await limits.hold(callerWith({ user: daily(50_000) }), plan(10, 0, { worstCostMicros: 40_000 }));
      expect(ledger.counter('user', 'user-1', TODAY)).toEqual({ spent: 0, reserved: 40_000 });
    });

    it('lets a failing ledger through as it is, giving the tokens back', async () => {
      ledger.failWith = new Error('the database is away');
      await expect(limits.hold(callerWith({ user: daily(10_000) }), plan(100, 300))).rejects.toThrow('the database is away');
      ledger.failWith = null;
      await expect(limits.hold(callerWith(), plan(0, TPM))).resolves.toBeDefined();
    });

    it('logs a settlement the ledger could not take instead of failing the call', async () => {
      const hold = await limits.hold(callerWith({ user: daily(10_000) }), plan(100, 300));
      ledger.failWith = new Error('the database is away');
      await expect(hold.release(used(100, 50), 700)).resolves.toBeUndefined();
      expect(log.lines).toContainEqual(
        expect.objectContaining({ level: 'error', msg: 'could not settle a call against its limits', userId: 'user-1' }),
      );
    });
  });
});
