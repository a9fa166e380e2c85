import { Injectable } from '@nestjs/common';
import type { Conversation, Message, Prisma } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, Tx } from '../../persistence/transaction-runner.js';

export type ConversationRow = Conversation;
export type MessageRow = Message;

export interface NewMessage {
  role: string;
  content: unknown;
  name?: string | null;
  toolCalls?: unknown;
  toolCallId?: string | null;
  tokens: number;
  promptTokens?: number | null;
  completionTokens?: number | null;
  /** What the round that wrote it cost (assistant messages). */
  costMicros?: number | null;
  model?: string | null;
  status?: 'complete' | 'incomplete' | 'error';
  finishReason?: string | null;
  /** Uploaded files the message refers to. */
  fileIds?: string[];
}

/** A new conversation's columns; `metadata` is the client's JSON object. */
export type NewConversation = Omit<Prisma.ConversationUncheckedCreateInput, 'id' | 'metadata'> & { id?: string; metadata?: Record<string, unknown> };
export type ConversationChanges = Omit<Prisma.ConversationUncheckedUpdateInput, 'metadata'> & { metadata?: Record<string, unknown> };

/** A conversation's totals, read from its messages and the usage records linked to it. */
export interface ConversationTotals {
  messages: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

export const NO_CONVERSATION_TOTALS: ConversationTotals = { messages: 0, promptTokens: 0, completionTokens: 0, costMicros: 0 };

// Indexed sums per conversation (messages by conversation_id, usage records by conversation_id).
const CONVERSATION_TOTALS = `
SELECT c.id,
       (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS messages,
       u.prompt, u.completion, u.cost
FROM unnest($1::uuid[]) AS c(id)
CROSS JOIN LATERAL (
  SELECT coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(completion_tokens), 0) AS completion, coalesce(sum(cost_micros), 0) AS cost
  FROM usage_records r WHERE r.conversation_id = c.id
) AS u`;

/** A stored message that matched a search, with its conversation. */
export interface MessageMatch {
  conversation_id: string;
  title: string | null;
  last_used_at: Date;
  role: string;
  content: unknown;
}

// The newest matching user and assistant messages of the caller's live conversations. The match
// is on the stored JSON text (a string, or content parts), case-insensitive, with the pattern's
// own wildcards escaped by the caller.
const SEARCH_MESSAGES = `
SELECT m.conversation_id, c.title, c.last_used_at, m.role, m.content
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE c.user_id = $1::uuid AND c.deleted_at IS NULL AND m.role IN ('user', 'assistant') AND m.content::text ILIKE $2 ESCAPE '\\'
ORDER BY m.id DESC
LIMIT $3::int`;

/** A conversation with history, as Smart-Host's memory status counts it. */
export interface ConversationHistoryCount {
  id: string;
  key: string | null;
  end_user: string;
  messages: number;
}

const WITH_HISTORY = `
SELECT c.id, c.key, c.end_user, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS messages
FROM conversations c
WHERE c.user_id = $1::uuid AND c.deleted_at IS NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
ORDER BY c.last_used_at DESC, c.id DESC
LIMIT $2::int`;
const WITH_HISTORY_COUNT = `
SELECT count(*)::int AS total FROM conversations c
WHERE c.user_id = $1::uuid AND c.deleted_at IS NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)`;

/** Matching messages read for a list's `q` (the newest first): enough for a page of conversations. */
const MATCHING_SCAN = 1000;

@Injectable()
export class ConversationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: NewConversation, tx?: Tx): Promise<ConversationRow> {
    return dbOf(tx, this.prisma).conversation.create({
      data: { ...data, metadata: data.metadata as Prisma.InputJsonObject | undefined, id: data.id ?? uuidv7() },
    });
  }

  /** A conversation that is not deleted. */
  findLive(id: string): Promise<ConversationRow | null> {
    return this.prisma.conversation.findFirst({ where: { id, deletedAt: null } });
  }

  /** The live conversation with this key under (user, end user). */
  findLiveByKey(userId: string, endUser: string, key: string): Promise<ConversationRow | null> {
    return this.prisma.conversation.findFirst({ where: { userId, endUser, key, deletedAt: null } });
  }

  /** Live conversations with this key under any of the user's end users (at most `take`). */
  findLiveByKeyAnyEndUser(userId: string, key: string, take: number): Promise<ConversationRow[]> {
    return this.prisma.conversation.findMany({ where: { userId, key, deletedAt: null }, orderBy: { id: 'asc' }, take });
  }

  /** The user's live conversations that have messages, newest first (at most `take`), and how many there are. */
  async withHistory(userId: string, take: number): Promise<{ total: number; rows: ConversationHistoryCount[] }> {
    const [rows, [count]] = await Promise.all([
      this.prisma.query<ConversationHistoryCount>(WITH_HISTORY, [userId, take]),
      this.prisma.query<{ total: number }>(WITH_HISTORY_COUNT, [userId]),
    ]);
    return { total: Number(count?.total ?? 0), rows: rows.map((r) => ({ ...r, messages: Number(r.messages) })) };
  }

  async list(
    userId: string,
    query: ListQuery,
    filters: { sessionId?: string; tag?: string; q?: string; endUser?: string },
  ): Promise<ConversationRow[]> {
    const matching = filters.q ? await this.withMatchingMessages(userId, filters.q) : [];
    return this.prisma.conversation.findMany({
      where: {
        userId,
        deletedAt: null,
        ...cursorWhere(query),
        ...(filters.sessionId ? { sessionId: filters.sessionId } : {}),
        ...(filters.tag ? { tags: { has: filters.tag } } : {}),
        ...(filters.q ? { OR: [{ title: { contains: filters.q, mode: 'insensitive' as const } }, { id: { in: matching } }] } : {}),
        ...(filters.endUser !== undefined ? { endUser: filters.endUser } : {}),
      },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  update(id: string, data: ConversationChanges): Promise<ConversationRow> {
    return this.prisma.conversation.update({ where: { id }, data: { ...data, metadata: data.metadata as Prisma.InputJsonObject | undefined } });
  }

  async softDelete(id: string): Promise<void> {
    // Its key is freed: the next turn with that key starts a new conversation.
    await this.prisma.conversation.update({ where: { id }, data: { deletedAt: new Date(), key: null } });
  }

  /** The user's conversations whose newest matching messages contain `text` (at most MATCHING_SCAN messages read). */
  private async withMatchingMessages(userId: string, text: string): Promise<string[]> {
    return [...new Set((await this.searchMessages(userId, text, MATCHING_SCAN)).map((m) => m.conversation_id))];
  }

  /** The newest of the user's messages containing `text` (case-insensitive), at most `limit`. */
  searchMessages(userId: string, text: string, limit: number): Promise<MessageMatch[]> {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.prisma.query<MessageMatch>(SEARCH_MESSAGES, [userId, pattern, limit]);
  }

  /** Every message in order, for building the next prompt. */
  history(conversationId: string): Promise<MessageRow[]> {
    return this.prisma.message.findMany({ where: { conversationId }, orderBy: { id: 'asc' } });
  }

  /** The newest assistant message of a conversation. */
  lastAssistant(conversationId: string): Promise<MessageRow | null> {
    return this.prisma.message.findFirst({ where: { conversationId, role: 'assistant' }, orderBy: { id: 'desc' } });
  }

  listMessages(conversationId: string, query: ListQuery): Promise<MessageRow[]> {
    return this.prisma.message.findMany({
      where: { conversationId, ...cursorWhere(query) },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  /** The totals of each conversation, always equal to its messages and usage records. */
  async totals(ids: string[]): Promise<Map<string, ConversationTotals>> {
    if (!ids.length) return new Map();
    const rows = await this.prisma.query<{ id: string; messages: string; prompt: string; completion: string; cost: string }>(CONVERSATION_TOTALS, [
      ids,
    ]);
    return new Map(
      rows.map((r) => [
        r.id,
        { messages: Number(r.messages), promptTokens: Number(r.prompt), completionTokens: Number(r.completion), costMicros: Number(r.cost) },
      ]),
    );
  }
}
