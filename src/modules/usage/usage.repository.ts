import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import type { UsageEntry } from './usage-entry.js';

@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insertMany(entries: UsageEntry[]): Promise<void> {
    await this.prisma.usageRecord.createMany({ data: entries.map(toRow) });
  }

  async insert(entry: UsageEntry, tx: Prisma.TransactionClient): Promise<string> {
    const row = toRow(entry);
    await tx.usageRecord.create({ data: row });
    return row.id;
  }
}

function toRow(e: UsageEntry): Prisma.UsageRecordCreateManyInput & { id: string } {
  return {
    id: uuidv7(),
    requestId: e.requestId,
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    endUser: e.endUser,
    endpoint: e.endpoint,
    requestedModel: e.requestedModel,
    upstreamModel: e.upstreamModel,
    provider: e.provider,
    conversationId: e.conversationId ?? null,
    sessionId: e.sessionId ?? null,
    promptTokens: e.promptTokens,
    completionTokens: e.completionTokens,
    cachedTokens: e.cachedTokens,
    reasoningTokens: e.reasoningTokens,
    costMicros: BigInt(e.costMicros),
    latencyMs: Math.round(e.latencyMs),
    ttftMs: e.ttftMs === null ? null : Math.round(e.ttftMs),
    status: e.status,
    estimated: e.estimated,
    errorCode: e.errorCode,
  };
}
