import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import type { UsageEntry } from './usage-entry.js';

// One statement for any number of rows (one array per column), so its plan is prepared once
// and reused, instead of a query compiled per batch.
const COLUMNS = [
  'id', 'created_at', 'request_id', 'user_id', 'api_key_id', 'end_user', 'endpoint', 'requested_model',
  'upstream_model', 'provider', 'conversation_id', 'session_id', 'prompt_tokens', 'completion_tokens',
  'cached_tokens', 'reasoning_tokens', 'cost_micros', 'latency_ms', 'ttft_ms', 'status', 'estimated', 'error_code',
];
const ARRAY_TYPES = [
  'uuid', 'timestamptz', 'text', 'uuid', 'uuid', 'text', 'text', 'text', 'text', 'text', 'uuid', 'uuid',
  'int', 'int', 'int', 'int', 'bigint', 'int', 'int', 'text', 'bool', 'text',
];
// The status travels as text and is cast here: array parameters of an enum type are not
// serialised by every driver (PGlite sends them as a bare string).
const INSERT_MANY = `
INSERT INTO usage_records (${COLUMNS.join(', ')})
SELECT ${COLUMNS.map((c) => (c === 'status' ? 'status::usage_status' : c)).join(', ')}
FROM unnest(${ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${COLUMNS.join(', ')})`;

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
