import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../persistence/prisma.service.js';

export type GroupBy = 'day' | 'model' | 'key' | 'session' | 'end_user';

export interface UsageTotals {
  requests: number;
  errors: number;
  aborted: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicros: number;
}

export interface UsageGroup extends UsageTotals {
  group: string | null;
}

// The only SQL fragments a request can select; the grouping is chosen from this list, never built from input.
const GROUP_SQL: Record<GroupBy, string> = {
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  model: 'requested_model',
  key: 'api_key_id::text',
  session: 'session_id::text',
  end_user: 'end_user',
};

/** Read-only sums over the usage records: the one source of every report and total. */
@Injectable()
export class UsageReportRepository {
  constructor(private readonly prisma: PrismaService) {}

  async grouped(filter: { userId: string | null; from: Date; to: Date }, groupBy: GroupBy): Promise<UsageGroup[]> {
    const params: unknown[] = [filter.from, filter.to];
    let where = 'created_at >= $1 AND created_at < $2';
    if (filter.userId) {
      params.push(filter.userId);
      where += ' AND user_id = $3::uuid';
    }
    const rows = await this.prisma.$queryRawUnsafe<Array<{ grp: string | null } & Record<string, unknown>>>(
      `SELECT ${GROUP_SQL[groupBy]} AS grp,
              count(*) AS requests,
              count(*) FILTER (WHERE status IN ('error', 'incomplete')) AS errors,
              count(*) FILTER (WHERE status = 'aborted') AS aborted,
              coalesce(sum(prompt_tokens), 0) AS prompt,
              coalesce(sum(completion_tokens), 0) AS completion,
              coalesce(sum(cached_tokens), 0) AS cached,
              coalesce(sum(reasoning_tokens), 0) AS reasoning,
              coalesce(sum(cost_micros), 0) AS cost
       FROM usage_records WHERE ${where}
       GROUP BY grp ORDER BY grp NULLS LAST`,
      ...params,
    );
    return rows.map((r) => ({
      group: r.grp,
      requests: Number(r.requests),
      errors: Number(r.errors),
      aborted: Number(r.aborted),
      promptTokens: Number(r.prompt),
      completionTokens: Number(r.completion),
      cachedTokens: Number(r.cached),
      reasoningTokens: Number(r.reasoning),
      costMicros: Number(r.cost),
    }));
  }

  /** How many conversations (not deleted), sessions and messages a user has. */
  async counts(userId: string): Promise<{ conversations: number; sessions: number; messages: number }> {
    const [conversations, sessions, messages] = await Promise.all([
      this.prisma.conversation.count({ where: { userId, deletedAt: null } }),
      this.prisma.session.count({ where: { userId } }),
      this.prisma.message.count({ where: { conversation: { userId, deletedAt: null } } }),
    ]);
    return { conversations, sessions, messages };
  }
}

export function sumGroups(groups: UsageTotals[]): UsageTotals {
  const total: UsageTotals = {
    requests: 0,
    errors: 0,
    aborted: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costMicros: 0,
  };
  for (const g of groups) {
    for (const k of Object.keys(total) as Array<keyof UsageTotals>) total[k] += g[k];
  }
  return total;
}
