import { Injectable } from '@nestjs/common';
import { withHeaders } from '../common/errors/domain-error.js';
import { clientLeft } from '../common/streaming/answer.js';
import type { Caller } from '../common/http/caller.js';
import type { Answered } from '../llm/llm-gateway.service.js';
import type { TokenUsage } from '../llm/pricing.js';
import { callCost, unanswered } from './billing.js';
import type { CallContext, CallOutcome, CallPlan } from './call.js';
import { usageEntry, type UsageEntry, type UsageLinks } from './ledger/usage-entry.js';
import { UsageRecorder } from './ledger/usage-recorder.service.js';
import { LimitsService, type LimitsHold } from './limits/limits.service.js';

/** What a settled call cost. */
export interface Settlement {
  costMicros: number;
  /** With `storeWith`: why the caller's statement failed (the record was then written alone). */
  storeError?: Error;
}

export interface SettleOptions {
  links?: UsageLinks;
  /**
   * Without it the record joins the next multi-row insert, a few milliseconds later. With it the
   * record is written before settle returns, in the caller's own statement (a conversation turn
   * stores it with its messages: one commit), or alone should that statement fail.
   */
  storeWith?: (record: UsageEntry & { id: string; at: Date }) => Promise<void>;
}

/**
 * A call admitted against the caller's limits and budgets. Settle it exactly once, whatever
 * happened to the call: the holds are released to what it used, and its usage record written.
 */
export class Admission {
  private settled: Promise<Settlement> | null = null;

  constructor(
    private readonly caller: Caller,
    readonly plan: CallPlan,
    private readonly context: CallContext,
    private readonly hold: LimitsHold,
    private readonly recorder: UsageRecorder,
  ) {}

  /** The x-ratelimit-*-tokens headers of the admission. */
  get headers(): Record<string, string> {
    return this.hold.headers;
  }

  settle(outcome: CallOutcome, options: SettleOptions = {}): Promise<Settlement> {
    this.settled ??= this.write(outcome, options);
    return this.settled;
  }

  private async write(outcome: CallOutcome, options: SettleOptions): Promise<Settlement> {
    const costMicros = callCost(this.plan, outcome);
    await this.hold.release(outcome.usage, costMicros);
    const entry = usageEntry(this.caller, this.plan, outcome, this.context, options.links);
    if (options.storeWith) {
      const { storeError } = await this.recorder.writeWith(entry, options.storeWith);
      return storeError === undefined ? { costMicros } : { costMicros, storeError };
    }
    this.recorder.record(entry);
    return { costMicros };
  }
}

/** What an answered call used, as the endpoint reads it from the upstream's answer. */
export interface Measured {
  usage: TokenUsage;
  /** True when a figure is ours rather than the upstream's. */
  estimated: boolean;
  /** When tokens alone do not give the cost. */
  costMicros?: number;
}

/**
 * The metering core: every upstream call (chat and completions on any transport, jobs,
 * embeddings, images) is admitted here against the caller's token limits and budgets, and
 * settled here to one usage record, by the rules of billing.ts.
 */
@Injectable()
export class Metering {
  constructor(
    private readonly limits: LimitsService,
    private readonly recorder: UsageRecorder,
  ) {}

  /** Holds the call's worst case against the caller's token windows and budgets, or throws the 429. */
  async admit(caller: Caller, plan: CallPlan, context: CallContext): Promise<Admission> {
    return new Admission(caller, plan, context, await this.limits.hold(caller, plan), this.recorder);
  }

  /**
   * One non-streaming call outside chat (embeddings, images): admitted, invoked, measured and
   * settled. A failure is metered (at nothing, or at the prompt when abandoned after it was sent)
   * and rethrown; a call abandoned by the client answers 503 to nobody.
   */
  async call<T extends Answered>(
    caller: Caller,
    plan: CallPlan,
    context: CallContext & { signal: AbortSignal },
    invoke: (signal: AbortSignal) => Promise<T>,
    measure: (answered: T) => Measured,
  ): Promise<{ answered: T; headers: Record<string, string> }> {
    const admission = await this.admit(caller, plan, context);
    const start = performance.now();
    let answered: T;
    try {
      answered = await invoke(context.signal);
    } catch (err) {
      const failed = unanswered(plan, err);
      const latencyMs = performance.now() - start;
      await admission.settle({ ...failed, answered: null, latencyMs, ttftMs: null });
      throw withHeaders(failed.error ?? clientLeft(), admission.headers);
    }
    const measured = measure(answered);
    const latencyMs = performance.now() - start;
    await admission.settle({ status: 'ok', answered, ...measured, latencyMs, ttftMs: latencyMs, error: null });
    return { answered, headers: admission.headers };
  }
}
