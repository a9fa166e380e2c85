import { DomainError } from '../common/errors/domain-error.js';
import type { Caller } from '../common/http/caller.js';
import type { Answered } from '../llm/llm-gateway.service.js';
import { NOT_SENT } from '../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../llm/llm-provider.js';
import { ModelCatalog } from '../llm/model-catalog.js';
import type { TokenUsage } from '../llm/pricing.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { MemoryBudgetLedger } from '../../test/fakes/memory-budget-ledger.js';
import { memoryLogger } from '../../test/fakes/memory-logger.js';
import { MemoryUsageStore } from '../../test/fakes/memory-usage-store.js';
import { testConfig } from '../../test/factories/app-config.js';
import type { CallOutcome, CallPlan } from './call.js';
import { UsageRecorder } from './ledger/usage-recorder.service.js';
import { periodStart } from './limits/budget-ledger.js';
import { LimitsService } from './limits/limits.service.js';
import { MemoryRateLimitStore } from './limits/memory-rate-limit-store.js';
import { Metering } from './metering.service.js';

const config = testConfig({
  limits: { rate: { tpm: 1_000 } },
  providers: { acme: { base_url: 'http://acme.test/v1', api_key: 'k' } },
  // Micro-dollars per token: 2 per prompt token, 10 per completion token.
  models: [{ id: 'main', provider: 'acme', upstream_id: 'main-upstream', context_window: 8000, pricing: { input: 2, output: 10 } }],
});
const catalog = new ModelCatalog(config, []);
const model = catalog.resolve('main');
const plan: CallPlan = { model, responseModel: 'main', promptTokens: 120, maxOutputTokens: 500 };
const answered: Answered = { provider: 'acme', upstreamModel: 'main-upstream', model };
const caller: Caller = {
  userId: 'user-1',
  keyId: 'key-1',
  role: 'user',
  name: 'Ada',
  limits: { user: { rpm: null, tpm: null, budget: { micros: 1_000_000, period: 'total' } }, key: { rpm: null, tpm: null, budget: null } },
};
const TOTAL = periodStart('total', new Date());
const usage = (promptTokens: number, completionTokens: number): TokenUsage => ({
  promptTokens,
  completionTokens,
  cachedTokens: 0,
  reasoningTokens: 0,
});

describe('Metering', () => {
  let store: MemoryUsageStore;
  let ledger: MemoryBudgetLedger;
  let limits: LimitsService;
  let recorder: UsageRecorder;
  let metering: Metering;
  let signal: AbortSignal;

  let metrics: MetricsService;

  beforeAll(() => {
    metrics = new MetricsService(catalog);
  });
  beforeEach(() => {
    const { logger } = memoryLogger();
    store = new MemoryUsageStore();
    ledger = new MemoryBudgetLedger();
    limits = new LimitsService(new MemoryRateLimitStore(), ledger, metrics, config, logger);
    recorder = new UsageRecorder(store, metrics, logger);
    metering = new Metering(limits, recorder);
    signal = new AbortController().signal;
  });
  afterEach(() => recorder.beforeApplicationShutdown());

  /** Runs one call through Metering.call that ends as `invoke` says, and answers what it threw. */
  async function meteredCall(invoke: () => Promise<Answered>, measured: TokenUsage = usage(0, 0)): Promise<unknown> {
    try {
      await metering.call(caller, plan, { requestId: 'req-1', endpoint: '/v1/embeddings', endUser: 'end-7', signal }, invoke, () => ({
        usage: measured,
        estimated: false,
      }));
      return null;
    } catch (err) {
      return err;
    } finally {
      await recorder.flush();
    }
  }

  /** Whether the caller's whole token minute is free again (the call's estimate was settled). */
  async function windowIsFree(): Promise<boolean> {
    return limits.hold(caller, { ...plan, promptTokens: 0, maxOutputTokens: 1_000 }).then(
      () => true,
      () => false,
    );
  }

  it('settles an answered call to one record of its measured usage and cost, and the budget to that cost', async () => {
    expect(await meteredCall(async () => answered, usage(100, 20))).toBeNull();

    expect(store.rows).toEqual([
      expect.objectContaining({
        status: 'ok',
        requestId: 'req-1',
        endpoint: '/v1/embeddings',
        endUser: 'end-7',
        userId: 'user-1',
        apiKeyId: 'key-1',
        requestedModel: 'main',
        provider: 'acme',
        upstreamModel: 'main-upstream',
        promptTokens: 100,
        completionTokens: 20,
        costMicros: 100 * 2 + 20 * 10,
        estimated: false,
        errorCode: null,
      }),
    ]);
    expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 400, reserved: 0 });
  });

  it('bills a call the client abandoned after it was sent its prompt, by our count, and answers nobody with a 503', async () => {
    const thrown = await meteredCall(() => Promise.reject(new UpstreamFailure('aborted', 'The request was aborted.')));

    expect(thrown).toMatchObject({ kind: 'unavailable' });
    expect(store.rows).toEqual([
      expect.objectContaining({ status: 'aborted', promptTokens: 120, completionTokens: 0, costMicros: 240, estimated: true }),
    ]);
    expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 240, reserved: 0 });
  });

  it('bills nothing for a call abandoned before it was sent, and gives its holds back', async () => {
    await meteredCall(() => Promise.reject(new UpstreamFailure('aborted', 'The request was aborted.', { code: NOT_SENT })));

    expect(store.rows).toEqual([
      expect.objectContaining({ status: 'aborted', promptTokens: 0, completionTokens: 0, costMicros: 0, estimated: false }),
    ]);
    expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 0, reserved: 0 });
    expect(await windowIsFree()).toBe(true);
  });

  it('records a failed call as an error with its code, at no cost, and rethrows what the client is to see', async () => {
    const error = new DomainError('upstream_unavailable', 'The upstream provider acme is unavailable for model main (HTTP 503).');
    const thrown = await meteredCall(() => Promise.reject(error));

    expect(thrown).toMatchObject({ kind: error.kind, message: error.message, code: error.code });
    expect((thrown as DomainError).headers).toMatchObject({ 'x-ratelimit-limit-tokens': expect.any(String) });
    expect(store.rows).toEqual([expect.objectContaining({ status: 'error', errorCode: 'upstream_unavailable', promptTokens: 0, costMicros: 0 })]);
    expect(await windowIsFree()).toBe(true);
  });

  it('never invokes a call its admission refused, and records nothing for it', async () => {
    // What is left of the budget is below this call's worst case.
    ledger.recorded('user', 'user-1', TOTAL, 999_000);
    let invoked = false;
    const thrown = await meteredCall(async () => {
      invoked = true;
      return answered;
    });

    expect(thrown).toMatchObject({ kind: 'quota_exceeded' });
    expect(invoked).toBe(false);
    expect(store.rows).toEqual([]);
  });

  describe('an admission', () => {
    const ok = (u: TokenUsage): CallOutcome => ({ status: 'ok', answered, usage: u, estimated: false, latencyMs: 12, ttftMs: 3, error: null });

    it('settles once, whatever is settled after: one record, one release', async () => {
      const admission = await metering.admit(caller, plan, { requestId: 'req-2', endpoint: '/chat' });
      const first = admission.settle(ok(usage(100, 20)));
      const second = admission.settle(ok(usage(5_000, 5_000)));

      expect(second).toBe(first);
      await expect(first).resolves.toEqual({ costMicros: 400 });
      await recorder.flush();
      expect(store.rows.map((r) => r.promptTokens)).toEqual([100]);
      expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 400, reserved: 0 });
    });

    it("defers the record to the caller's statement, which writes every round's record with its rows", async () => {
      const first = await metering.admit(caller, plan, { requestId: 'req-3', endpoint: '/chat' });
      const round1 = await first.settleDeferred(ok(usage(10, 1)), { sessionId: 'session-1' });
      const second = await metering.admit(caller, plan, { requestId: 'req-3', endpoint: '/chat' });
      const round2 = await second.settleDeferred(ok(usage(20, 2)), { sessionId: 'session-1' });
      await expect(second.settleDeferred(ok(usage(1, 1)))).rejects.toThrow('settled once');

      expect(round1.costMicros).toBe(30);
      expect(round2.costMicros).toBe(60);
      expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 90, reserved: 0 });
      await recorder.flush();
      expect(store.rows).toEqual([]);

      const stored: unknown[] = [];
      const { storeError } = await metering.writeWith([round1.entry, round2.entry], async (records) => void stored.push(...records));
      expect(storeError).toBeUndefined();
      expect(stored).toEqual([
        expect.objectContaining({ id: round1.entry.id, at: expect.any(Date), requestId: 'req-3', sessionId: 'session-1', costMicros: 30 }),
        expect.objectContaining({ id: round2.entry.id, costMicros: 60 }),
      ]);
      await recorder.flush();
      expect(store.rows).toEqual([]);
    });

    it("writes the records alone when the caller's statement fails, and hands back that failure", async () => {
      const admission = await metering.admit(caller, plan, { requestId: 'req-5', endpoint: '/chat' });
      const { entry } = await admission.settleDeferred(ok(usage(10, 1)));
      const failure = new Error('conversation gone');
      const { storeError } = await metering.writeWith([entry], async () => {
        throw failure;
      });

      expect(storeError).toBe(failure);
      expect(store.rows).toEqual([expect.objectContaining({ id: entry.id, requestId: 'req-5', costMicros: 30 })]);
      expect(ledger.counter('user', 'user-1', TOTAL)).toEqual({ spent: 30, reserved: 0 });
    });

    it("keeps a batched record's id when its batch is written again (a commit whose answer was lost)", async () => {
      let lost = true;
      const insert = store.insertMany.bind(store);
      store.insertMany = async (entries) => {
        await insert(entries);
        if (lost) {
          lost = false;
          throw Object.assign(new Error('connection reset after the commit'), { code: 'ECONNRESET' });
        }
      };
      const admission = await metering.admit(caller, plan, { requestId: 'req-6', endpoint: '/v1/chat/completions' });
      await admission.settle(ok(usage(10, 1)));
      await recorder.flush();
      await recorder.flush();

      expect(store.rows).toHaveLength(2);
      expect(store.rows[1].id).toEqual(store.rows[0].id);
      expect(store.rows[0].id).toEqual(expect.any(String));
    });

    it('carries the x-ratelimit-*-tokens headers of the hold', async () => {
      const admission = await metering.admit(caller, plan, { requestId: 'req-4', endpoint: '/chat' });
      expect(admission.headers).toMatchObject({ 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': String(1_000 - 120 - 500) });
    });
  });
});
