import { DomainError } from '../common/errors/domain-error.js';
import { NOT_SENT } from '../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../llm/llm-provider.js';
import { costMicros, NO_TOKENS, type TokenUsage } from '../llm/pricing.js';
import type { CallOutcome, CallPlan, CallStatus } from './call.js';

// The billing rules, each written once. Every upstream call is metered through these.

/** How a call that produced no answer ended, and what it is billed. */
export interface Unanswered {
  status: Extract<CallStatus, 'error' | 'aborted'>;
  usage: TokenUsage;
  estimated: boolean;
  /** What the client is told (null: it left, nobody to tell). */
  error: DomainError | null;
}

/**
 * A call that failed, or was abandoned before it was sent, is billed nothing: no upstream billed
 * it. One abandoned after it was sent is billed its prompt (our count, estimated), since the
 * upstream may already have billed it, plus what was already streamed back.
 */
export function unanswered(plan: CallPlan, failure: unknown, streamedTokens = 0): Unanswered {
  const aborted = failure instanceof UpstreamFailure && failure.kind === 'aborted';
  if (!aborted) {
    const error = failure instanceof DomainError ? failure : new DomainError('upstream_error', 'The upstream call failed.');
    return { status: 'error', usage: NO_TOKENS, estimated: false, error };
  }
  const sent = failure.details.code !== NOT_SENT;
  if (!sent) return { status: 'aborted', usage: NO_TOKENS, estimated: false, error: null };
  return {
    status: 'aborted',
    usage: { ...NO_TOKENS, promptTokens: plan.promptTokens, completionTokens: streamedTokens },
    estimated: true,
    error: null,
  };
}

/** What a call cost: its own figure where tokens do not tell, else its tokens at the prices of the model that answered. */
export function callCost(plan: CallPlan, outcome: CallOutcome): number {
  return outcome.costMicros ?? costMicros((outcome.answered?.model ?? plan.model).pricing, outcome.usage);
}
