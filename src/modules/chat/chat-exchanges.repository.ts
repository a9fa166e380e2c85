import { Injectable } from '@nestjs/common';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, type Tx } from '../../persistence/transaction-runner.js';
import { insertRecordsFromJson } from '../../metering/ledger/usage.repository.js';
import type { NewMessage } from '../conversations/conversations.repository.js';

/** How stale a session's last activity may get before a turn writes it again (the idle timeout is minutes). */
export const SESSION_TOUCH_SECONDS = 5;

/** What one /chat turn writes: its usage records, and what the turn produced. */
export interface ExchangeWrite {
  /** The conversation the messages go to; null when the turn stores no messages (a failed first call). */
  conversationId: string | null;
  /** Set when the turn starts the conversation: its columns. */
  start: { userId: string; title: string | null; tags: string[]; metadata: Record<string, unknown>; key: string | null; endUser: string } | null;
  sessionId: string;
  /** Whether the session's last activity is old enough to be written again. */
  touchSession: boolean;
  model: string;
  profile: string | null;
  messages: NewMessage[];
  /** The turn's usage records, one per upstream round (see recordsJson), linked to the conversation the messages go to. */
  records: string;
}

// One statement (one round trip, one commit) for the whole exchange: the conversation started or
// brought up to date, its messages and their file links, the usage record (linked to the
// conversation), and the session's last activity at most every few seconds. No running total is
// written: conversation and session totals are read from the messages and the usage records.
// Every parameter is text, a number or a boolean, so the statement runs the same on the driver
// and inside a Prisma transaction.
const STORE_EXCHANGE = `
WITH started AS (
  INSERT INTO conversations (id, user_id, session_id, title, tags, metadata, model, profile, key, end_user, created_at, updated_at, last_used_at)
  SELECT $1::uuid, $2::uuid, $3::uuid, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6::jsonb, $7, $8, $14, coalesce($15, ''), now(), now(), now()
  WHERE $9::bool
  RETURNING id
), continued AS (
  UPDATE conversations SET model = $7, profile = $8, last_used_at = now(), updated_at = now()
  WHERE id = $1::uuid AND NOT $9::bool
  RETURNING id
), stored AS (
  INSERT INTO messages (id, conversation_id, session_id, role, content, name, tool_calls, tool_call_id, tokens,
                        prompt_tokens, completion_tokens, cost_micros, model, status, finish_reason, created_at)
  SELECT m.id, $1::uuid, $3::uuid, m.role, coalesce(m.content, 'null'::jsonb), m.name, nullif(m.tool_calls, 'null'::jsonb), m.tool_call_id,
         m.tokens, m.prompt_tokens, m.completion_tokens, m.cost_micros, m.model, m.status::message_status, m.finish_reason, now()
  FROM jsonb_to_recordset($10::jsonb) AS m(id uuid, role text, content jsonb, name text, tool_calls jsonb, tool_call_id text, tokens int,
                                           prompt_tokens int, completion_tokens int, cost_micros bigint, model text, status text, finish_reason text)
  RETURNING id
), linked_files AS (
  INSERT INTO message_files (message_id, file_id)
  SELECT (f ->> 0)::uuid, (f ->> 1)::uuid FROM jsonb_array_elements($11::jsonb) AS f
), recorded AS (
  ${insertRecordsFromJson('$12::jsonb', '$1::uuid')}
), touched AS (
  UPDATE sessions SET last_activity_at = now()
  WHERE id = $3::uuid AND $13::bool AND last_activity_at < now() - interval '${SESSION_TOUCH_SECONDS} seconds'
)
SELECT 1`;

/**
 * The one write of a /chat turn, across the tables it spans (the conversation, its messages, the
 * usage record, the session's activity), as a single statement: a turn holds no lock
 * beyond it, so concurrent turns of one user or one session never queue behind each other.
 */
@Injectable()
export class ChatExchangesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Stores the exchange; in `tx` when something else must commit with it (a remembered fact). */
  async store(w: ExchangeWrite, tx?: Tx): Promise<void> {
    const rows = w.messages.map((m) => ({
      id: uuidv7(),
      role: m.role,
      content: m.content ?? null,
      name: m.name ?? null,
      tool_calls: m.toolCalls ?? null,
      tool_call_id: m.toolCallId ?? null,
      tokens: m.tokens,
      prompt_tokens: m.promptTokens ?? null,
      completion_tokens: m.completionTokens ?? null,
      cost_micros: m.costMicros ?? null,
      model: m.model ?? null,
      status: m.status ?? 'complete',
      finish_reason: m.finishReason ?? null,
    }));
    const files = w.messages.flatMap((m, i) => (m.fileIds ?? []).map((fileId) => [rows[i].id, fileId]));
    const params = [
      w.conversationId,
      w.start?.userId ?? null,
      w.sessionId,
      w.start?.title ?? null,
      JSON.stringify(w.start?.tags ?? []),
      JSON.stringify(w.start?.metadata ?? {}),
      w.model,
      w.profile,
      w.start !== null && w.conversationId !== null,
      JSON.stringify(w.conversationId ? rows : []),
      JSON.stringify(w.conversationId ? files : []),
      w.records,
      w.touchSession,
      w.start?.key ?? null,
      w.start?.endUser ?? null,
    ];
    if (tx) await dbOf(tx, this.prisma).$executeRawUnsafe(STORE_EXCHANGE, ...params);
    else await this.prisma.execute(STORE_EXCHANGE, params);
  }
}
