import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { microsToUsd } from '../../common/money.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import { spendView } from '../../llm/pricing.js';
import { canRead, resolveOwner } from '../../common/http/ownership.js';
import { isUuid } from '../../common/validation/primitives.js';
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
  type ConversationHistoryCount,
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
    if (input.key && (await this.repo.findLiveByKey(caller.userId, '', input.key))) {
      throw new DomainError('conflict', `You already have a conversation with key ${input.key}.`, { param: 'key', code: 'conversation_key_taken' });
    }
    const row = await this.repo.create({
      userId: caller.userId,
      key: input.key ?? null,
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
    const rows = await this.repo.list(owner, query, { sessionId: query.session_id, tag: query.tag, q: query.q, endUser: query.end_user });
    const totals = await this.repo.totals(rows.slice(0, query.limit).map((r) => r.id));
    return toPage(rows, query, (row) => toConversationView(row, totals.get(row.id) ?? NO_CONVERSATION_TOTALS));
  }

  async get(caller: Caller, ref: string): Promise<ConversationView> {
    const row = await this.readable(caller, ref);
    const view = await this.view(row);
    const files = await this.files.forConversation(row.id);
    return { ...view, files: files.map((f) => ({ id: f.id, filename: f.filename, mime_type: f.mime_type, kind: f.kind, bytes: f.bytes })) };
  }

  async update(caller: Caller, ref: string, input: UpdateConversationBody): Promise<ConversationView> {
    const { id } = await this.owned(caller, ref);
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
  async remove(caller: Caller, ref: string): Promise<{ id: string; object: 'conversation'; deleted: true }> {
    const { id } = await this.owned(caller, ref);
    await this.repo.softDelete(id);
    return { id, object: 'conversation', deleted: true };
  }

  /**
   * Deletes a conversation of the caller's (Smart-Host's DELETE /memory/conversation/{id}): by id;
   * by key under the end user when one is named, else the account's own, else the one end user's
   * conversation with that key (409 when several end users have one).
   */
  async removeOfEndUser(caller: Caller, ref: string, endUser: string | undefined): Promise<{ id: string; object: 'conversation'; deleted: true }> {
    if (isUuid(ref) || endUser === '') return this.remove(caller, ref);
    let row = await this.repo.findLiveByKey(caller.userId, endUser ?? '', ref);
    if (!row && endUser === undefined) {
      const rows = await this.repo.findLiveByKeyAnyEndUser(caller.userId, ref, 2);
      if (rows.length > 1) {
        throw new DomainError('conflict', `Several of your end users have a conversation with key ${ref}; name one with user_id.`, {
          param: 'user_id',
          code: 'conversation_key_ambiguous',
        });
      }
      row = rows[0] ?? null;
    }
    if (!row) throw notFound(ref);
    await this.repo.softDelete(row.id);
    return { id: row.id, object: 'conversation', deleted: true };
  }

  /**
   * The text of the newest assistant message of the caller's conversation (by id, or by the
   * account's own key), or null while there is none, or no such conversation (Llamalith's status).
   */
  async lastReply(caller: Caller, ref: string): Promise<string | null> {
    const row = isUuid(ref) ? await this.repo.findLive(ref) : await this.repo.findLiveByKey(caller.userId, '', ref);
    if (!row || !canRead(caller, row.userId)) return null;
    const reply = await this.repo.lastAssistant(row.id);
    return reply ? messageText(reply.content) : null;
  }

  /** The caller's conversations that have history, newest first, with how many there are. */
  withHistory(caller: Caller, take: number): Promise<{ total: number; rows: ConversationHistoryCount[] }> {
    return this.repo.withHistory(caller.userId, take);
  }

  async listMessages(caller: Caller, ref: string, query: ListMessagesQuery): Promise<ListPage<MessageView>> {
    const { id } = await this.readable(caller, ref);
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

  /**
   * The conversation a turn continues, with its stored history: by id, the caller's own (any of
   * its end users'); by key, the one with that key under (caller, end user), or none yet (the
   * turn creates it with the key). `param` names the field at fault.
   */
  async openForChat(
    caller: Caller,
    ref: string,
    endUser: string,
    param = 'conversation_id',
  ): Promise<{ thread: ChatThread | null; key: string | null }> {
    const conversation = await this.findForChat(caller, ref, endUser, param);
    if (!conversation) return { thread: null, key: ref };
    return { thread: { conversation, history: await this.repo.history(conversation.id) }, key: conversation.key };
  }

  /** The conversation a reference names for a turn (see openForChat); null for a key not used yet. */
  async findForChat(caller: Caller, ref: string, endUser: string, param = 'conversation_id'): Promise<ConversationRow | null> {
    if (isUuid(ref)) {
      const conversation = await this.repo.findLive(ref);
      if (!conversation || conversation.userId !== caller.userId) throw new DomainError('not_found', `No conversation with id ${ref}.`, { param });
      return conversation;
    }
    return this.repo.findLiveByKey(caller.userId, endUser, ref);
  }

  private async view(row: ConversationRow): Promise<ConversationView> {
    const totals = await this.repo.totals([row.id]);
    return toConversationView(row, totals.get(row.id) ?? NO_CONVERSATION_TOTALS);
  }

  /** By id, one the caller may read (their own, or any for an admin); by key, the account's own (no end user). */
  private async readable(caller: Caller, ref: string): Promise<ConversationRow> {
    const row = isUuid(ref) ? await this.repo.findLive(ref) : await this.repo.findLiveByKey(caller.userId, '', ref);
    if (!row || !canRead(caller, row.userId)) throw notFound(ref);
    return row;
  }

  private async owned(caller: Caller, ref: string): Promise<ConversationRow> {
    const row = isUuid(ref) ? await this.repo.findLive(ref) : await this.repo.findLiveByKey(caller.userId, '', ref);
    if (!row || row.userId !== caller.userId) throw notFound(ref);
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
    key: row.key,
    end_user: row.endUser || null,
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
    cost_usd: row.costMicros === null ? null : microsToUsd(Number(row.costMicros)),
    created_at: unixSeconds(row.createdAt)!,
  };
}

function notFound(ref: string): DomainError {
  return new DomainError('not_found', isUuid(ref) ? `No conversation with id ${ref}.` : `No conversation with key ${ref}.`);
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
