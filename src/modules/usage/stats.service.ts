import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { resolveOwner } from '../../common/http/ownership.js';
import { spendView } from '../../llm/pricing.js';
import { sumGroups, UsageReportRepository, type UsageTotals } from './usage-report.repository.js';
import type { UsageQuery, UsageReportView, UsageTotalsView, UserStatsView } from './usage.schemas.js';

const EVER = { from: new Date(0), to: new Date(8.64e15) };

/** GET /usage and GET /users/{id}/stats: the same sums of the same records. */
@Injectable()
export class StatsService {
  constructor(private readonly repo: UsageReportRepository) {}

  async forUser(caller: Caller, id: string): Promise<UserStatsView> {
    const userId = resolveOwner(caller, id);
    const [byModel, counts] = await Promise.all([this.repo.grouped({ userId, ...EVER }, 'model'), this.repo.counts(userId)]);
    const totals = sumGroups(byModel);
    return {
      object: 'user.stats',
      user_id: userId,
      ...counts,
      ...totalsView(totals),
      by_model: byModel.map((g) => ({ model: g.group ?? 'unknown', ...totalsView(g) })),
    };
  }

  async report(caller: Caller, query: UsageQuery): Promise<UsageReportView> {
    const userId = query.user_id ? resolveOwner(caller, query.user_id) : caller.role === 'admin' ? null : caller.userId;
    const to = query.to ?? new Date();
    const from = query.from ?? new Date(to.getTime() - 30 * 86_400_000);
    if (from >= to) throw new DomainError('invalid', "'from' must be before 'to'.", { param: 'from' });
    const groups = await this.repo.grouped({ userId, from, to }, query.group_by);
    return {
      object: 'usage.report',
      user_id: userId,
      from: from.toISOString(),
      to: to.toISOString(),
      group_by: query.group_by,
      totals: totalsView(sumGroups(groups)),
      data: groups.map((g) => ({ group: g.group, ...totalsView(g) })),
    };
  }
}

function totalsView(t: UsageTotals): UsageTotalsView {
  return {
    requests: t.requests,
    errors: t.errors,
    aborted: t.aborted,
    ...spendView(t),
    cached_tokens: t.cachedTokens,
    reasoning_tokens: t.reasoningTokens,
  };
}
