import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import { spendView } from '../../llm/pricing.js';
import { canRead, resolveOwner } from '../../common/http/ownership.js';
import { FilesService } from '../files/files.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type {
  ConversationView,
  CreateConversationBody,
  ListConversationsQuery,
  ListMessagesQuery,
  MessageView,
  UpdateConversationBody,
} from './conversations.schemas.js';
import {
  ConversationsRepository,
  NO_CONVERSATION_TOTALS,
  type ConversationRow,
  type ConversationTotals,
  type MessageRow,
} from './conversations.repository.js';

export interface ChatThread {
  conversation: ConversationRow;
  history: MessageRow[];
}

@Injectable()
export class ConversationsService {
  constructor(
    private readonly repo: ConversationsRepository,
    private readonly sessions: SessionsService,
    private readonly catalog: ModelCatalog,
    private readonly files: FilesService,
  ) {}

  async create(caller: Caller, input: CreateConversationBody): Promise<ConversationView> {
    if (input.model) this.catalog.resolve(input.model);
    if (input.profile) this.catalog.persona(input.profile);
    const session = input.session_id ? await this.sessions.get(caller, input.session_id) : null;
    if (session && session.user_id !== caller.userId)
      throw new DomainError('not_found', `No session with id ${input.session_id}.`, { param: 'session_id' });
    const row = await this.repo.create({
      userId: caller.userId,
      sessionId: session?.id ?? null,
      title: input.title ?? null,
      tags: input.tags ?? [],
      metadata: input.metadata ?? {},
      model: input.model ?? null,
      profile: input.profile ?? null,
    });
    return toConversationView(row, NO_CONVERSATION_TOTALS);
  }

  async list(caller: Caller, query: ListConversationsQuery): Promise<ListPage<ConversationView>> {
    const owner = query.user_id ? resolveOwner(caller, query.user_id) : caller.userId;
    const rows = await this.repo.list(owner, query, { sessionId: query.session_id, tag: query.tag, q: query.q });
    const totals = await this.repo.totals(rows.slice(0, query.limit).map((r) => r.id));
    return toPage(rows, query, (row) => toConversationView(row, totals.get(row.id) ?? NO_CONVERSATION_TOTALS));
  }

  async get(caller: Caller, id: string): Promise<ConversationView> {
    const view = await this.view(await this.readable(caller, id));
    const files = await this.files.forConversation(id);
    return { ...view, files: files.map((f) => ({ id: f.id, filename: f.filename, mime_type: f.mime_type, kind: f.kind, bytes: f.bytes })) };
  }

  async update(caller: Caller, id: string, input: UpdateConversationBody): Promise<ConversationView> {
    await this.owned(caller, id);
    if (input.model) this.catalog.resolve(input.model);
    if (input.profile) this.catalog.persona(input.profile);
    const row = await this.repo.update(id, {
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.summary !== undefined ? { summary: input.summary } : {}),
      ...(input.tags !== undefined ? { tags: input.tags } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.model !== undefined ? { model: input.model } : {}),
      ...(input.profile !== undefined ? { profile: input.profile } : {}),
    });
    return this.view(row);
  }

  /** Soft delete: the conversation answers 404 afterwards; files it used stay with their owner. */
  async remove(caller: Caller, id: string): Promise<{ id: string; object: 'conversation'; deleted: true }> {
    await this.owned(caller, id);
    await this.repo.softDelete(id);
    return { id, object: 'conversation', deleted: true };
  }

  async listMessages(caller: Caller, id: string, query: ListMessagesQuery): Promise<ListPage<MessageView>> {
    await this.readable(caller, id);
    return toPage(await this.repo.listMessages(id, query), query, toMessageView);
  }

  /**
   * The caller's own conversations whose messages contain `text` (case-insensitive), newest first,
   * each with up to three snippets around the matches (the search_conversations tool).
   */
  async searchMessages(caller: Caller, text: string, limit: number): Promise<ConversationMatch[]> {
    const rows = await this.repo.searchMessages(caller.userId, text, SEARCH_SCAN);
    const found = new Map<string, ConversationMatch>();
    for (const row of rows) {
      let match = found.get(row.conversation_id);
      if (!match) {
        if (found.size >= limit) continue;
        match = { conversation_id: row.conversation_id, title: row.title, last_used_at: unixSeconds(new Date(row.last_used_at))!, snippets: [] };
        found.set(row.conversation_id, match);
      }
      const snippet = snippetOf(messageText(row.content), text);
      if (snippet && match.snippets.length < 3) match.snippets.push({ role: row.role, text: snippet });
    }
    return [...found.values()].filter((m) => m.snippets.length);
  }

  /** The caller's own conversation and its stored history, to continue it. */
  async openForChat(caller: Caller, id: string): Promise<ChatThread> {
    const conversation = await this.repo.findLive(id);
    if (!conversation || conversation.userId !== caller.userId) {
      throw new DomainError('not_found', `No conversation with id ${id}.`, { param: 'conversation_id' });
    }
    return { conversation, history: await this.repo.history(id) };
  }

  private async view(row: ConversationRow): Promise<ConversationView> {
    const totals = await this.repo.totals([row.id]);
    return toConversationView(row, totals.get(row.id) ?? NO_CONVERSATION_TOTALS);
  }

  private async readable(caller: Caller, id: string): Promise<ConversationRow> {
    const row = await this.repo.findLive(id);
    if (!row || !canRead(caller, row.userId)) throw new DomainError('not_found', `No conversation with id ${id}.`);
    return row;
  }

  private async owned(caller: Caller, id: string): Promise<ConversationRow> {
    const row = await this.repo.findLive(id);
    if (!row || row.userId !== caller.userId) throw new DomainError('not_found', `No conversation with id ${id}.`);
    return row;
  }
}

export function toConversationView(row: ConversationRow, totals: ConversationTotals): ConversationView {
  return {
    id: row.id,
    object: 'conversation',
    user_id: row.userId,
    session_id: row.sessionId,
    title: row.title,
    summary: row.summary,
    tags: row.tags,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    model: row.model,
    profile: row.profile,
    message_count: totals.messages,
    ...spendView(totals),
    created_at: unixSeconds(row.createdAt)!,
    updated_at: unixSeconds(row.updatedAt)!,
    last_used_at: unixSeconds(row.lastUsedAt)!,
  };
}

export function toMessageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    object: 'conversation.message',
    conversation_id: row.conversationId,
    role: row.role,
    content: row.content,
    name: row.name,
    tool_calls: (row.toolCalls as unknown[] | null) ?? null,
    tool_call_id: row.toolCallId,
    model: row.model,
    status: row.status,
    finish_reason: row.finishReason,
    tokens: row.tokens,
    usage: row.promptTokens === null ? null : { prompt_tokens: row.promptTokens, completion_tokens: row.completionTokens ?? 0 },
    created_at: unixSeconds(row.createdAt)!,
  };
}

/** Matching messages read per search: the snippets of a few conversations, newest first. */
const SEARCH_SCAN = 200;
const SNIPPET_CHARS = 160;

/** A conversation found by searchMessages. */
export interface ConversationMatch {
  conversation_id: string;
  title: string | null;
  last_used_at: number;
  snippets: Array<{ role: string; text: string }>;
}

/** The text of a stored message's content: a string, or its text parts joined. */
function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p: { type?: string; text?: unknown }) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : '')).join(' ');
}

/** Some words either side of the first match of `needle`, or null when the text does not contain it (it matched in the JSON only). */
function snippetOf(text: string, needle: string): string | null {
  const flat = text.replace(/\s+/g, ' ');
  const at = flat.toLowerCase().indexOf(needle.toLowerCase());
  if (at < 0) return null;
  const start = Math.max(0, at - Math.floor((SNIPPET_CHARS - needle.length) / 2));
  const end = Math.min(flat.length, start + SNIPPET_CHARS);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end).trim()}${end < flat.length ? '…' : ''}`;
}
