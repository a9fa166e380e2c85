import { Injectable } from '@nestjs/common';
import { withHeaders } from '../common/errors/domain-error.js';
import { clientLeft } from '../common/streaming/answer.js';
import type { Caller } from '../common/http/caller.js';
import type { Answered } from '../llm/llm-gateway.service.js';
import type { TokenUsage } from '../llm/pricing.js';
import { callCost, unanswered } from './billing.js';
import type { CallContext, CallOutcome, CallPlan } from './call.js';
import { uuidv7 } from '../common/ids.js';
import { usageEntry, type UsageLinks } from './ledger/usage-entry.js';
import { UsageRecorder, type StoredEntry } from './ledger/usage-recorder.service.js';
import { LimitsService, type LimitsHold } from './limits/limits.service.js';

/** What a settled call cost. */
export interface Settlement {
  costMicros: number;
}

/** A call settled without its record written yet: the caller writes it with its own rows (Metering.writeWith). */
export interface DeferredSettlement extends Settlement {
  entry: StoredEntry;
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

  /** Releases the holds to what the call used and queues its record for the next multi-row insert. */
  settle(outcome: CallOutcome, links?: UsageLinks): Promise<Settlement> {
    this.settled ??= this.release(outcome, links).then(({ costMicros, entry }) => {
      this.recorder.record(entry);
      return { costMicros };
    });
    return this.settled;
  }

  /**
   * Releases the holds to what the call used and hands back its record unwritten, for a statement
   * that writes it with other rows (a chat turn: every round's record with the messages, one commit).
   */
  settleDeferred(outcome: CallOutcome, links?: UsageLinks): Promise<DeferredSettlement> {
    const settled = this.release(outcome, links);
    this.settled ??= settled;
    return settled;
  }

  private async release(outcome: CallOutcome, links?: UsageLinks): Promise<DeferredSettlement> {
    if (this.settled) throw new Error('an admission is settled once');
    const costMicros = callCost(this.plan, outcome);
    await this.hold.release(outcome.usage, costMicros);
    const entry = usageEntry(this.caller, this.plan, outcome, this.context, links);
    return { costMicros, entry: { ...entry, id: entry.id ?? uuidv7(), at: entry.at ?? new Date() } };
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

  /**
   * Writes deferred records (see Admission.settleDeferred) in the caller's statement; should it
   * fail they are written alone, and the failure returned.
   */
  writeWith(entries: readonly StoredEntry[], store: (records: StoredEntry[]) => Promise<void>): Promise<{ storeError?: Error }> {
    return this.recorder.writeWith(entries, store);
  }

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
