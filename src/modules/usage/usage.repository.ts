import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import type { UsageEntry } from './usage-entry.js';

// One statement for any number of rows (one array per column), so its plan is prepared once
// and reused, instead of a query compiled per batch.
const INSERT_MANY = `
INSERT INTO usage_records (id, created_at, request_id, user_id, api_key_id, end_user, endpoint, requested_model,
  upstream_model, provider, conversation_id, session_id, prompt_tokens, completion_tokens, cached_tokens,
  reasoning_tokens, cost_micros, latency_ms, ttft_ms, status, estimated, error_code)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
  $8::text[], $9::text[], $10::text[], $11::uuid[], $12::uuid[], $13::int[], $14::int[], $15::int[], $16::int[],
  $17::bigint[], $18::int[], $19::int[], $20::usage_status[], $21::bool[], $22::text[])`;

@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insertMany(entries: UsageEntry[]): Promise<void> {
    const rows = entries.map(toRow);
    const column = <K extends keyof Row>(key: K) => rows.map((r) => r[key]);
    await this.prisma.execute(INSERT_MANY, [
      column('id'),
      column('createdAt'),
      column('requestId'),
      column('userId'),
      column('apiKeyId'),
      column('endUser'),
      column('endpoint'),
      column('requestedModel'),
      column('upstreamModel'),
      column('provider'),
      column('conversationId'),
      column('sessionId'),
      column('promptTokens'),
      column('completionTokens'),
      column('cachedTokens'),
      column('reasoningTokens'),
      rows.map((r) => r.costMicros.toString()),
      column('latencyMs'),
      column('ttftMs'),
      column('status'),
      column('estimated'),
      column('errorCode'),
    ]);
  }

  async insert(entry: UsageEntry, tx: Prisma.TransactionClient): Promise<string> {
    const row = toRow(entry);
    await tx.usageRecord.create({ data: row });
    return row.id;
  }
}

type Row = ReturnType<typeof toRow>;

function toRow(e: UsageEntry) {
  return {
    id: uuidv7(),
    createdAt: e.at ?? new Date(),
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
  } satisfies Prisma.UsageRecordUncheckedCreateInput;
}
