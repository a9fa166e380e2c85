import type { Caller } from '../../common/http/caller.js';
import type { CallMeasurement } from '../../metrics/metrics.service.js';
import { callCost } from '../billing.js';
import type { CallContext, CallOutcome, CallPlan } from '../call.js';

/**
 * One upstream call, as metered: the fields of a usage record (the token kinds, cost, latency,
 * status and models it shares with the metrics come from CallMeasurement).
 */
export interface UsageEntry extends CallMeasurement {
  requestId: string | null;
  userId: string;
  apiKeyId: string | null;
  endUser: string | null;
  endpoint: string;
  upstreamModel: string;
  conversationId?: string | null;
  sessionId?: string | null;
  estimated: boolean;
  /** When the call ended; defaults to when the record is written. */
  at?: Date;
  /** The record's id, when the caller needs to know it (a uuidv7 is chosen otherwise). */
  id?: string;
  /** How the call was metered, when it needs saying. */
  warning?: string | null;
}

/** What a usage record links to besides its caller. */
export interface UsageLinks {
  conversationId?: string | null;
  sessionId?: string | null;
}

/** The usage record of one call, whatever its outcome. */
export function usageEntry(caller: Caller, plan: CallPlan, outcome: CallOutcome, context: CallContext, links: UsageLinks = {}): UsageEntry {
  const model = outcome.answered?.model ?? plan.model;
  return {
    requestId: context.requestId,
    userId: caller.userId,
    apiKeyId: caller.keyId,
    endUser: context.endUser ?? null,
    endpoint: context.endpoint,
    requestedModel: plan.responseModel,
    upstreamModel: outcome.answered?.upstreamModel ?? model.upstreamId,
    provider: outcome.answered?.provider ?? model.provider,
    conversationId: links.conversationId ?? null,
    sessionId: links.sessionId ?? null,
    promptTokens: outcome.usage.promptTokens,
    completionTokens: outcome.usage.completionTokens,
    cachedTokens: outcome.usage.cachedTokens,
    reasoningTokens: outcome.usage.reasoningTokens,
    costMicros: callCost(plan, outcome),
    latencyMs: outcome.latencyMs,
    ttftMs: outcome.ttftMs,
    status: outcome.status,
    estimated: outcome.estimated,
    errorCode: outcome.error?.code ?? (outcome.error ? outcome.error.kind : null),
    warning: model.priced ? null : `Unpriced: the catalog has no price for ${model.id}; its cost is recorded as 0.`,
  };
}
