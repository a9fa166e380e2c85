import type { DomainError } from '../common/errors/domain-error.js';
import type { Answered } from '../llm/llm-gateway.service.js';
import type { ResolvedModel } from '../llm/model-catalog.js';
import type { TokenUsage } from '../llm/pricing.js';

/**
 * What limits and metering need to know of an upstream call before it is made: the worst it may
 * cost is admitted against the caller's token windows and budgets.
 */
export interface CallPlan {
  model: ResolvedModel;
  /** What responses and chunks carry as `model`. */
  responseModel: string;
  /**
   * Prompt tokens as counted here, with the most its images, audio and documents may cost (also
   * what an unanswered call that was sent is billed, when the upstream reports nothing).
   */
  promptTokens: number;
  /** The most the answer may cost in tokens, over all its choices (max_tokens, else the model's maximum, times n). */
  maxOutputTokens: number;
  /**
   * What tokens per minute holds for the answer until the call settles (default: maxOutputTokens).
   * Without max_tokens a chat call holds the configured default output, not the model's maximum,
   * so that one call does not take a whole minute's tokens; budgets still hold the worst case.
   */
  reservedOutputTokens?: number;
  /** The most the call may cost, where tokens do not tell (images priced per image). */
  worstCostMicros?: number;
}

/** Where a call came from, for its usage record. */
export interface CallContext {
  requestId: string;
  endpoint: string;
  /** OpenAI's `user` field: the caller's own end-user id. */
  endUser?: string | null;
}

/** incomplete: the upstream ended its stream before the answer was finished (no finish_reason). */
export type CallStatus = 'ok' | 'error' | 'aborted' | 'incomplete';

/** What a call did, as metered: the usage record is made of this and the plan. */
export interface CallOutcome {
  status: CallStatus;
  /** Which upstream answered (null when none did). */
  answered: Answered | null;
  usage: TokenUsage;
  /** True when any token figure is our count rather than the upstream's. */
  estimated: boolean;
  latencyMs: number;
  ttftMs: number | null;
  error: DomainError | null;
  /** When tokens alone do not give the cost (images priced per image). */
  costMicros?: number;
}
