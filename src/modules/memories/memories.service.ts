import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import { endUserOf, type Caller } from '../../common/http/caller.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChatMessage } from '../../llm/chat-types.js';
import { TokenCounter } from '../../llm/token-counter.js';
import type { Tx } from '../../persistence/transaction-runner.js';
import { MemoriesRepository, type MemoryRow } from './memories.repository.js';
import { MAX_MEMORY_CHARS, type DeletedMemoriesView, type ListMemoriesQuery, type MemoryView } from './memories.schemas.js';

const PREAMBLE = 'Things the user asked you to remember about them, newest first. Use them where they help; do not recite them.';

/**
 * What a user asked the assistant to remember across conversations. /chat with `use_memory` puts
 * the newest memories that fit MEMORY_MAX_TOKENS into the prompt as a system message (never
 * stored in the conversation); `save_memory` keeps the turn's user text as a new memory.
 */
@Injectable()
export class MemoriesService {
  constructor(
    private readonly repo: MemoriesRepository,
    private readonly tokens: TokenCounter,
    private readonly config: AppConfig,
  ) {}

  async create(caller: Caller, content: string): Promise<MemoryView> {
    return toView(await this.add(caller.userId, content, 'api', null));
  }

  async list(caller: Caller, query: ListMemoriesQuery): Promise<ListPage<MemoryView>> {
    return toPage(await this.repo.list(caller.userId, '', query), query, toView);
  }

  async remove(caller: Caller, id: string): Promise<DeletedMemoriesView> {
    if (!(await this.repo.remove(caller.userId, '', id))) throw new DomainError('not_found', `No memory with id ${id}.`);
    return { object: 'memory.deleted', id, deleted: 1 };
  }

  async clear(caller: Caller): Promise<DeletedMemoriesView> {
    return { object: 'memory.deleted', id: null, deleted: await this.repo.remove(caller.userId, '') };
  }

  /** Forgets an end user's memories under the caller's account; the caller's own id names the account's own. */
  async forgetEndUser(caller: Caller, endUser: string): Promise<DeletedMemoriesView> {
    return { object: 'memory.deleted', id: null, deleted: await this.repo.remove(caller.userId, endUserOf(caller, endUser)) };
  }

  /** Who has memories under the caller's account (the account itself as its own id), with how many. */
  async holders(caller: Caller): Promise<Array<{ user_id: string; memories: number }>> {
    const rows = await this.repo.endUsers(caller.userId);
    return rows.map((r) => ({ user_id: r.endUser || caller.userId, memories: r.count }));
  }

  /** The system message carrying the newest memories that fit, with its tokens; null when there are none. */
  async promptMessage(userId: string, endUser = ''): Promise<{ message: ChatMessage; tokens: number } | null> {
    const rows = await this.repo.newest(userId, endUser, this.config.memory.maxPerUser);
    const lines: string[] = [];
    let tokens = this.tokens.count(PREAMBLE) + 4;
    for (const row of rows) {
      if (tokens + row.tokens + 2 > this.config.memory.maxPromptTokens) break;
      lines.push(`- ${row.content}`);
      tokens += row.tokens + 2;
    }
    if (!lines.length) return null;
    return { message: { role: 'system', content: `${PREAMBLE}\n${lines.join('\n')}` }, tokens };
  }

  /** Saves a chat turn's user text, inside the chat's transaction. */
  async saveFromChat(tx: Tx, userId: string, endUser: string, content: string, conversationId: string | null): Promise<void> {
    const text = content.trim().slice(0, MAX_MEMORY_CHARS);
    if (text) await this.add(userId, text, 'chat', conversationId, tx, endUser);
  }

  /** Adds one, forgetting the oldest (of the same end user) beyond max_per_user. */
  private add(userId: string, content: string, source: 'api' | 'chat', conversationId: string | null, tx?: Tx, endUser = ''): Promise<MemoryRow> {
    return this.repo.add({ userId, endUser, content, source, conversationId, tokens: this.tokens.count(content) }, this.config.memory.maxPerUser, tx);
  }
}

function toView(row: MemoryRow): MemoryView {
  return {
    id: row.id,
    object: 'memory',
    content: row.content,
    source: row.source as MemoryView['source'],
    conversation_id: row.conversationId,
    tokens: row.tokens,
    created_at: unixSeconds(row.createdAt)!,
  };
}
