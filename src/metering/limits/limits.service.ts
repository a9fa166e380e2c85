import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller, LimitSet } from '../../common/http/caller.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { microsToUsd } from '../../common/money.js';
import { worstCaseMicros, type TokenUsage } from '../../llm/pricing.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { CallPlan } from '../call.js';
import { BudgetLedger, BudgetRefused, periodStart, type BudgetHold, type HeldReservation } from './budget-ledger.js';
import { rateLimitHeaders, scopeName } from './rate-limit-headers.js';
import { RateLimitStore } from './rate-limit-store.js';

const MINUTE_MS = 60_000;
const SWEEP_EVERY_MS = 30_000;
/**
 * Our prompt count (tiktoken) and the upstream's can differ a little; the budget's worst case
 * is padded so the settled cost stays within what was reserved.
 */
const PROMPT_MARGIN = 1.1;
const PROMPT_MARGIN_TOKENS = 32;

/** What a call holds against the caller's limits until it settles: release it once, with what the call used. */
export interface LimitsHold {
  /** The x-ratelimit-*-tokens headers. */
  readonly headers: Record<string, string>;
  release(usage: TokenUsage, costMicros: number): Promise<void>;
}

/**
 * Tokens per minute and budgets, for the key and its user. Before a call its token estimate
 * (prompt + the most it may answer) is charged to the token windows and its worst-case cost
 * reserved against the budgets; after it, both settle to what the call really used, streamed,
 * failed or aborted alike. Requests per minute are the rate-limit guard's.
 */
@Injectable()
export class LimitsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: RateLimitStore,
    private readonly ledger: BudgetLedger,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  async hold(caller: Caller, call: CallPlan): Promise<LimitsHold> {
    if (caller.guestIp !== undefined && !call.model.priced) {
      // The guests' daily budget holds only what has a price: a model reached by provider prefix has none.
      throw new DomainError('forbidden', `Guests may only use models priced in the catalog; '${call.model.id}' has no price.`, {
        param: 'model',
        code: 'model_unpriced',
      });
    }
    const estimate = call.promptTokens + (call.reservedOutputTokens ?? call.maxOutputTokens);
    const windows = this.tokenWindows(caller);
    let ticket = 0;
    let headers: Record<string, string> = {};
    if (windows.length) {
      const blocked = windows.find((w) => w.limit === 0);
      if (blocked) throw this.refusal('tokens', blocked.scope, 'Tokens are blocked for this ' + scopeName(blocked.scope) + '.', -1);
      const result = await this.store.charge(windows, MINUTE_MS, estimate);
      ticket = result.ticket;
      headers = rateLimitHeaders('tokens', result.states);
      if (!result.admitted) {
        // A call bigger than a limit is refused for good: name that window, not one only full for now.
        const never = result.retryAfterMs < 0;
        const refusedBy =
          (never ? windows.find((w) => estimate > w.limit) : windows.find((w, i) => result.states[i].used + estimate > w.limit)) ?? windows[0];
        const why = never
          ? `This request may use ${estimate} tokens (prompt + max_tokens), more than the ${scopeName(refusedBy.scope)}'s limit of ${refusedBy.limit} tokens per minute; lower max_tokens.`
          : `Rate limit reached for tokens per minute on this ${scopeName(refusedBy.scope)}: this request needs ${estimate} tokens. Please try again in ${Math.ceil(result.retryAfterMs / 1000)}s.`;
        throw this.refusal('tokens', refusedBy.scope, why, result.retryAfterMs, headers);
      }
    }
    const tokenKeys = windows.map((w) => w.key);

    let reservations: HeldReservation[] = [];
    const holds = this.budgetHolds(caller, call);
    if (holds.length) {
      try {
        reservations = await this.ledger.reserve(holds, new Date(Date.now() + this.config.upstream.timeoutMs + MINUTE_MS));
      } catch (err) {
        if (tokenKeys.length) await this.store.settle(tokenKeys, MINUTE_MS, ticket, -estimate);
        if (err instanceof BudgetRefused) throw this.budgetRefusal(err, headers);
        throw err;
      }
    }

    let released = false;
    return {
      headers,
      release: async (usage, cost) => {
        if (released) return;
        released = true;
        try {
          // Settled figures come from readUsage or our own count; a window must never take a non-number.
          const used = usage.promptTokens + usage.completionTokens;
          if (tokenKeys.length && Number.isFinite(used)) await this.store.settle(tokenKeys, MINUTE_MS, ticket, used - estimate);
          if (reservations.length) await this.ledger.settle(reservations, cost);
        } catch (err) {
          this.logger.error({ err: (err as Error).message, userId: caller.userId }, 'could not settle a call against its limits');
        }
      },
    };
  }

  /** Starts a scope's budget afresh (after its amount or period changed). */
  resetBudget(scope: 'user' | 'key', id: string): void {
    this.ledger.reset(scope, id).catch((err: unknown) => this.logger.error({ err: (err as Error).message }, 'could not reset a budget'));
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => {
      this.ledger
        .releaseExpired(new Date())
        .then((n) => n && this.logger.warn({ released: n }, 'released budget reservations of calls that never settled'))
        .catch(() => undefined);
    }, SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private tokenWindows(caller: Caller): Array<{ key: string; limit: number; scope: 'key' | 'user' }> {
    const fallback = this.config.limits.rate.tpm;
    return [
      { key: `tpm:key:${caller.keyId}`, limit: caller.limits.key.tpm ?? fallback, scope: 'key' as const },
      { key: `tpm:user:${caller.userId}`, limit: caller.limits.user.tpm ?? fallback, scope: 'user' as const },
    ];
  }

  private budgetHolds(caller: Caller, call: CallPlan): BudgetHold[] {
    const entries: Array<['user' | 'key', string, LimitSet]> = [
      ['user', caller.userId, caller.limits.user],
      ['key', caller.keyId, caller.limits.key],
    ];
    const holds: BudgetHold[] = [];
    const now = new Date();
    for (const [scope, scopeId, limits] of entries) {
      if (!limits.budget) continue;
      const worst =
        call.worstCostMicros ??
        worstCaseMicros(call.model.pricing, Math.ceil(call.promptTokens * PROMPT_MARGIN) + PROMPT_MARGIN_TOKENS, call.maxOutputTokens);
      const period = limits.budget.period;
      holds.push({ scope, scopeId, period, periodStart: periodStart(period, now), limitMicros: limits.budget.micros, amountMicros: worst });
    }
    return holds;
  }

  private refusal(
    kind: 'requests' | 'tokens',
    scope: string,
    message: string,
    retryAfterMs: number,
    headers: Record<string, string> = {},
  ): DomainError {
    this.metrics.rateLimitRefusals.inc({ kind, scope });
    return new DomainError('rate_limited', message, {
      type: kind,
      code: 'rate_limit_exceeded',
      retryAfterSeconds: retryAfterMs >= 0 ? retryAfterMs / 1000 : undefined,
      retryable: retryAfterMs >= 0,
      headers,
    });
  }

  private budgetRefusal(err: BudgetRefused, headers: Record<string, string>): DomainError {
    const { hold } = err;
    this.metrics.budgetRefusals.inc({ scope: hold.scope });
    const budget = { day: 'for today (UTC)', month: 'for this month (UTC)', total: 'in total' }[hold.period];
    const left = Math.max(0, hold.limitMicros - err.spentMicros);
    return new DomainError(
      'quota_exceeded',
      `You exceeded this ${scopeName(hold.scope)}'s budget of $${microsToUsd(hold.limitMicros)} ${budget}: $${microsToUsd(left)} is left and this request could cost up to $${microsToUsd(hold.amountMicros)}. Lower max_tokens, or ask an admin to raise the budget.`,
      { retryable: false, headers },
    );
  }
}
