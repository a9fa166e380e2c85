import { DomainError } from '../common/errors/domain-error.js';
import { NOT_SENT } from '../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../llm/llm-provider.js';
import { ModelCatalog } from '../llm/model-catalog.js';
import { testConfig } from '../../test/factories/app-config.js';
import { callCost, unanswered } from './billing.js';
import type { CallOutcome, CallPlan } from './call.js';

const catalog = new ModelCatalog(
  testConfig({
    providers: { acme: { base_url: 'http://acme.test/v1', api_key: 'k' } },
    // USD per 1M tokens, that is micro-dollars per token.
    models: [
      { id: 'main', provider: 'acme', context_window: 8000, pricing: { input: 2, output: 10 }, fallbacks: ['spare'] },
      { id: 'spare', provider: 'acme', context_window: 8000, pricing: { input: 1, output: 1 } },
      { id: 'free', provider: 'acme', context_window: 8000 },
    ],
  }),
  [],
);

const plan: CallPlan = { model: catalog.resolve('main'), responseModel: 'main', promptTokens: 120, maxOutputTokens: 500 };
const usage = (promptTokens: number, completionTokens: number) => ({ promptTokens, completionTokens, cachedTokens: 0, reasoningTokens: 0 });
const outcome = (o: Partial<CallOutcome>): CallOutcome => ({
  status: 'ok',
  answered: null,
  usage: usage(0, 0),
  estimated: false,
  latencyMs: 5,
  ttftMs: 5,
  error: null,
  ...o,
});

describe('billing rules', () => {
  describe('a call that produced no answer', () => {
    it('is billed nothing when it failed (no upstream billed it), keeping the error the client sees', () => {
      const error = new DomainError('upstream_error', 'The upstream provider acme failed for model main (HTTP 500).');
      expect(unanswered(plan, error)).toEqual({ status: 'error', usage: usage(0, 0), estimated: false, error });
    });

    it('says nothing of a failure that is not a domain error', () => {
      const result = unanswered(plan, new Error('socket hang up at 10.0.0.7:443'));
      expect(result).toMatchObject({ status: 'error', usage: usage(0, 0), error: { kind: 'upstream_error', message: 'The upstream call failed.' } });
    });

    it('is billed nothing when the client left before it was sent', () => {
      const failure = new UpstreamFailure('aborted', 'The request was aborted.', { code: NOT_SENT });
      expect(unanswered(plan, failure)).toEqual({ status: 'aborted', usage: usage(0, 0), estimated: false, error: null });
    });

    it('is billed its prompt by our count, and what was already streamed, when the client left after it was sent', () => {
      const failure = new UpstreamFailure('aborted', 'The request was aborted.');
      expect(unanswered(plan, failure, 40)).toEqual({ status: 'aborted', usage: usage(120, 40), estimated: true, error: null });
      expect(unanswered(plan, failure).usage).toEqual(usage(120, 0));
    });
  });

  describe('what a call cost', () => {
    it("is its tokens at the prices of the model that answered, a fallback's when it answered", () => {
      const answered = { provider: 'other', upstreamModel: 'spare-upstream', model: catalog.resolve('spare') };
      expect(callCost(plan, outcome({ usage: usage(100, 10) }))).toBe(100 * 2 + 10 * 10);
      expect(callCost(plan, outcome({ usage: usage(100, 10), answered }))).toBe(100 + 10);
    });

    it("is the call's own figure where tokens do not tell (images priced per image)", () => {
      expect(callCost(plan, outcome({ usage: usage(100, 10), costMicros: 40_000 }))).toBe(40_000);
      expect(callCost({ ...plan, model: catalog.resolve('free') }, outcome({ usage: usage(100, 10) }))).toBe(0);
    });
  });
});
