import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../persistence/prisma.service.js';

export interface ModelTotals {
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

export interface UserTotals {
  conversations: number;
  sessions: number;
  messages: number;
  byModel: ModelTotals[];
}

/** Read-only aggregates over a user's records, for the stats and usage reports. */
@Injectable()
export class StatsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async userTotals(userId: string): Promise<UserTotals> {
    const [conversations, sessions, messages, groups] = await Promise.all([
      this.prisma.conversation.count({ where: { userId, deletedAt: null } }),
      this.prisma.session.count({ where: { userId } }),
      this.prisma.message.count({ where: { conversation: { userId, deletedAt: null } } }),
      this.prisma.usageRecord.groupBy({
        by: ['requestedModel'],
        where: { userId },
        _count: { _all: true },
        _sum: { promptTokens: true, completionTokens: true, costMicros: true },
        orderBy: { requestedModel: 'asc' },
      }),
    ]);
    return {
      conversations,
      sessions,
      messages,
      byModel: groups.map((g) => ({
        model: g.requestedModel,
        requests: g._count._all,
        promptTokens: g._sum.promptTokens ?? 0,
        completionTokens: g._sum.completionTokens ?? 0,
        costMicros: Number(g._sum.costMicros ?? 0n),
      })),
    };
  }
}
