import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { clientDisconnectSignal } from '../../common/http/sse.js';
import { NOT_SENT, type Answered } from '../../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import { NO_TOKENS, type TokenUsage } from '../../llm/pricing.js';
import { LimitsService } from '../limits/limits.service.js';
import { UsageRecorder } from '../usage/usage-recorder.service.js';
import type { MeteredCallPlan } from './completion-runner.js';
import { usageEntry, type RequestMeta } from './completions.service.js';

/** What an answered call used, as the endpoint reads it from the upstream's answer. */
export interface Measured {
  usage: TokenUsage;
  /** True when a figure is ours rather than the upstream's. */
  estimated: boolean;
  /** When tokens alone do not give the cost. */
  costMicros?: number;
}

/**
 * One non-streaming upstream call outside chat (embeddings, images) with what every call gets:
 * admission against the caller's limits and budgets (rate-limit headers on the reply), a client
 * disconnect that aborts it, and a usage record settled against the limits whatever the outcome.
 * A failed call costs nothing; an abandoned one is counted as asked.
 */
@Injectable()
export class MeteredCall {
  constructor(
    private readonly limits: LimitsService,
    private readonly usage: UsageRecorder,
  ) {}

  async run<T extends Answered>(
    caller: Caller,
    call: MeteredCallPlan,
    context: { reply: FastifyReply; meta: RequestMeta; endUser?: string },
    invoke: (signal: AbortSignal) => Promise<T>,
    measure: (answered: T) => Measured,
  ): Promise<T> {
    const admission = await this.limits.admit(caller, call);
    context.reply.headers(admission.headers);
    const signal = clientDisconnectSignal(context.reply);

    const start = performance.now();
    let answered: T | null = null;
    let failure: unknown = null;
    try {
      answered = await invoke(signal);
    } catch (err) {
      failure = err;
    }
    const aborted = failure instanceof UpstreamFailure && failure.kind === 'aborted';
    const sent = !(aborted && (failure as UpstreamFailure).details.code === NOT_SENT);
    const error = failure === null || aborted ? null : failure instanceof DomainError ? failure : new DomainError('upstream_error', 'The upstream call failed.');
    const measured: Measured = answered
      ? measure(answered)
      : { usage: aborted && sent ? { ...NO_TOKENS, promptTokens: call.promptTokens } : NO_TOKENS, estimated: aborted && sent };
    const latencyMs = performance.now() - start;
    const entry = usageEntry(
      caller,
      call,
      {
        answered,
        usage: measured.usage,
        latencyMs,
        ttftMs: answered ? latencyMs : null,
        status: answered ? 'ok' : aborted ? 'aborted' : 'error',
        estimated: measured.estimated,
        error,
        costMicros: measured.costMicros,
      },
      context.meta,
      context.endUser,
    );
    await admission.settle(measured.usage, entry.costMicros);
    this.usage.record(entry);
    if (error) throw error;
    if (!answered) throw new DomainError('unavailable', 'The request was aborted.');
    return answered;
  }
}
