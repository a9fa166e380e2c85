import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import { microsToUsd } from '../../llm/pricing.js';
import { resolveOwner } from '../../common/http/ownership.js';
import { StatsRepository } from './stats.repository.js';
import type { UserStatsView } from './usage.schemas.js';

@Injectable()
export class StatsService {
  constructor(private readonly repo: StatsRepository) {}

  /** A user's totals; token and cost figures are sums of the usage records, so they always agree. */
  async forUser(caller: Caller, id: string): Promise<UserStatsView> {
    const userId = resolveOwner(caller, id);
    const totals = await this.repo.userTotals(userId);
    const sum = (pick: (m: (typeof totals.byModel)[number]) => number) => totals.byModel.reduce((n, m) => n + pick(m), 0);
    const prompt = sum((m) => m.promptTokens);
    const completion = sum((m) => m.completionTokens);
    return {
      object: 'user.stats',
      user_id: userId,
      conversations: totals.conversations,
      sessions: totals.sessions,
      messages: totals.messages,
      requests: sum((m) => m.requests),
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      cost_usd: microsToUsd(sum((m) => m.costMicros)),
      by_model: totals.byModel.map((m) => ({
        model: m.model,
        requests: m.requests,
        prompt_tokens: m.promptTokens,
        completion_tokens: m.completionTokens,
        total_tokens: m.promptTokens + m.completionTokens,
        cost_usd: microsToUsd(m.costMicros),
      })),
    };
  }
}
