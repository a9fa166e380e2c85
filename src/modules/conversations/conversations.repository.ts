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
  model?: string | null;
  status?: 'complete' | 'incomplete' | 'error';
  finishReason?: string | null;
  /** Uploaded files the message refers to. */
  fileIds?: string[];
}

/** A new conversation's columns; `metadata` is the client's JSON object. */
export type NewConversation = Omit<Prisma.ConversationUncheckedCreateInput, 'id' | 'metadata'> & { id?: string; metadata?: Record<string, unknown> };
export type ConversationChanges = Omit<Prisma.ConversationUncheckedUpdateInput, 'metadata'> & { metadata?: Record<string, unknown> };

/** What one exchange adds to a conversation's running totals. */
export interface ConversationActivity {
  messages: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  model: string;
  /** The persona the turn ran with (null: none); the conversation keeps it for later turns. */
  profile: string | null;
}

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

  list(userId: string, query: ListQuery, filters: { sessionId?: string; tag?: string; q?: string }): Promise<ConversationRow[]> {
    return this.prisma.conversation.findMany({
      where: {
        userId,
        deletedAt: null,
        ...cursorWhere(query),
        ...(filters.sessionId ? { sessionId: filters.sessionId } : {}),
        ...(filters.tag ? { tags: { has: filters.tag } } : {}),
        ...(filters.q ? { title: { contains: filters.q, mode: 'insensitive' as const } } : {}),
      },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  update(id: string, data: ConversationChanges): Promise<ConversationRow> {
    return this.prisma.conversation.update({ where: { id }, data: { ...data, metadata: data.metadata as Prisma.InputJsonObject | undefined } });
  }

  async softDelete(id: string): Promise<void> {
    await this.prisma.conversation.update({ where: { id }, data: { deletedAt: new Date() } });
  }

  /** Every message in order, for building the next prompt. */
  history(conversationId: string): Promise<MessageRow[]> {
    return this.prisma.message.findMany({ where: { conversationId }, orderBy: { id: 'asc' } });
  }

  listMessages(conversationId: string, query: ListQuery): Promise<MessageRow[]> {
    return this.prisma.message.findMany({
      where: { conversationId, ...cursorWhere(query) },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  /** All the messages of an exchange in one statement (and their file links in one more). */
  async addMessages(tx: Tx, conversationId: string, messages: NewMessage[]): Promise<string[]> {
    if (!messages.length) return [];
    const rows = messages.map((m) => ({
      id: uuidv7(),
      conversationId,
      role: m.role,
      content: m.content as Prisma.InputJsonValue,
      name: m.name ?? null,
      toolCalls: m.toolCalls ?? undefined,
      toolCallId: m.toolCallId ?? null,
      tokens: m.tokens,
      promptTokens: m.promptTokens ?? null,
      completionTokens: m.completionTokens ?? null,
      model: m.model ?? null,
      status: m.status ?? ('complete' as const),
      finishReason: m.finishReason ?? null,
    }));
    await dbOf(tx, this.prisma).message.createMany({ data: rows });
    const links = messages.flatMap((m, i) => (m.fileIds ?? []).map((fileId) => ({ messageId: rows[i].id, fileId })));
    if (links.length) await dbOf(tx, this.prisma).messageFile.createMany({ data: links });
    return rows.map((r) => r.id);
  }

  async addActivity(tx: Tx, id: string, a: ConversationActivity): Promise<void> {
    await dbOf(tx, this.prisma).conversation.update({
      where: { id },
      data: {
        messageCount: { increment: a.messages },
        promptTokens: { increment: a.promptTokens },
        completionTokens: { increment: a.completionTokens },
        costMicros: { increment: a.costMicros },
        model: a.model,
        profile: a.profile,
        lastUsedAt: new Date(),
      },
    });
  }
}
