import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { INT4_MAX } from '../../common/validation/primitives.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import type { UsageEntry } from './usage-entry.js';
import { UsageStore } from './usage-store.js';

// One statement for any number of rows (one array per column), so its plan is prepared once
// and reused, instead of a query compiled per batch.
const COLUMNS = [
  'id',
  'created_at',
  'request_id',
  'user_id',
  'api_key_id',
  'end_user',
  'endpoint',
  'requested_model',
  'upstream_model',
  'provider',
  'conversation_id',
  'session_id',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'reasoning_tokens',
  'cost_micros',
  'latency_ms',
  'ttft_ms',
  'status',
  'estimated',
  'error_code',
  'warning',
] as const;
const ARRAY_TYPES = [
  'uuid',
  'timestamptz',
  'text',
  'uuid',
  'uuid',
  'text',
  'text',
  'text',
  'text',
  'text',
  'uuid',
  'uuid',
  'int',
  'int',
  'int',
  'int',
  'bigint',
  'int',
  'int',
  'text',
  'bool',
  'text',
  'text',
];
// The status travels as text and is cast here: array parameters of an enum type are not
// serialised by every driver (PGlite sends them as a bare string).
const INSERT_MANY = `
INSERT INTO usage_records (${COLUMNS.join(', ')})
SELECT ${COLUMNS.map((c) => (c === 'status' ? 'status::usage_status' : c)).join(', ')}
FROM unnest(${ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${COLUMNS.join(', ')})
ON CONFLICT (id) DO NOTHING`;

/**
 * The INSERT of usage records read from a jsonb array parameter (see `recordsJson`), for a
 * statement that writes them with other rows in one commit (a chat turn's messages, one record per
 * upstream round). `conversationId` is the SQL of the conversation they link to, when that
 * conversation is written by the same statement.
 */
export function insertRecordsFromJson(param: string, conversationId: string): string {
  const columns = COLUMNS.map((c) =>
    c === 'status' ? 'r.status::usage_status' : c === 'conversation_id' ? `coalesce(r.conversation_id, ${conversationId})` : `r.${c}`,
  );
  const types = COLUMNS.map((c, i) => `${c} ${ARRAY_TYPES[i]}`);
  return `INSERT INTO usage_records (${COLUMNS.join(', ')}) SELECT ${columns.join(', ')} FROM jsonb_to_recordset(${param}) AS r(${types.join(', ')})`;
}

/** The jsonb parameter of `insertRecordsFromJson`: the records made storable, as a JSON array of objects of their columns. */
export function recordsJson(entries: readonly UsageEntry[]): string {
  return `[${entries.map(recordJson).join(',')}]`;
}

function recordJson(entry: UsageEntry): string {
  const r = toRow(entry);
  return JSON.stringify({
    id: r.id,
    created_at: r.createdAt,
    request_id: r.requestId,
    user_id: r.userId,
    api_key_id: r.apiKeyId,
    end_user: r.endUser,
    endpoint: r.endpoint,
    requested_model: r.requestedModel,
    upstream_model: r.upstreamModel,
    provider: r.provider,
    conversation_id: r.conversationId,
    session_id: r.sessionId,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    cost_micros: r.costMicros.toString(),
    latency_ms: r.latencyMs,
    ttft_ms: r.ttftMs,
    status: r.status,
    estimated: r.estimated,
    error_code: r.errorCode,
    warning: r.warning,
  } satisfies Record<(typeof COLUMNS)[number], unknown>);
}

@Injectable()
export class UsageRepository extends UsageStore {
  constructor(private readonly prisma: PrismaService) {
    super();
  }

  /**
   * Idempotent (a record written already, by a statement whose commit the caller never heard of,
   * is not written twice). A lone record whose conversation or session was deleted meanwhile is
   * written without those links rather than lost.
   */
  override async insertMany(entries: UsageEntry[]): Promise<void> {
    const rows = entries.map(toRow);
    try {
      await this.insertRows(rows);
    } catch (err) {
      if (rows.length !== 1 || (err as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw err;
      await this.insertRows([{ ...rows[0], conversationId: null, sessionId: null }]);
    }
  }

  private async insertRows(rows: Row[]): Promise<void> {
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
      column('warning'),
    ]);
  }
}

type Row = ReturnType<typeof toRow>;

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * The row of an entry, made storable whatever the entry holds: a usage record must be written
 * even when what came with the call could not be (NUL characters, overlong text, counts past
 * the column), so text is cleaned and cut and numbers are clamped here, at the last step.
 */
function toRow(e: UsageEntry) {
  return {
    id: e.id ?? uuidv7(),
    createdAt: e.at ?? new Date(),
    requestId: storableText(e.requestId, 128),
    userId: e.userId,
    apiKeyId: e.apiKeyId,
    endUser: storableText(e.endUser, 256),
    endpoint: storableText(e.endpoint, 128),
    requestedModel: storableText(e.requestedModel, 256),
    upstreamModel: storableText(e.upstreamModel, 256),
    provider: storableText(e.provider, 64),
    conversationId: e.conversationId ?? null,
    sessionId: e.sessionId ?? null,
    promptTokens: int4(e.promptTokens),
    completionTokens: int4(e.completionTokens),
    cachedTokens: int4(e.cachedTokens),
    reasoningTokens: int4(e.reasoningTokens),
    costMicros: BigInt(Number.isSafeInteger(e.costMicros) && e.costMicros > 0 ? e.costMicros : 0),
    latencyMs: int4(e.latencyMs),
    ttftMs: e.ttftMs === null ? null : int4(e.ttftMs),
    status: e.status,
    estimated: e.estimated,
    errorCode: storableText(e.errorCode, 64),
    warning: storableText(e.warning ?? null, 500),
  } satisfies Prisma.UsageRecordUncheckedCreateInput;
}

function storableText<T extends string | null>(value: T, max: number): T {
  if (value === null) return value;
  return value.replaceAll('\u0000', '').toWellFormed().slice(0, max) as T;
}

/** A whole number within PostgreSQL's integer; anything else (NaN, negative) is 0. */
function int4(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), INT4_MAX) : 0;
}
