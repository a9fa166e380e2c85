import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import type { ChatMessage } from '../../llm/chat-types.js';
import { TokenCounter } from '../../llm/token-counter.js';
import type { CallStatus } from '../../metering/call.js';
import type { UsageEntry } from '../../metering/ledger/usage-entry.js';
import { recordsJson } from '../../metering/ledger/usage.repository.js';
import { TransactionRunner } from '../../persistence/transaction-runner.js';
import type { ChatRun } from '../completions/completion-runner.js';
import type { ExecutedCall } from '../tools/tools.service.js';
import type { NewMessage } from '../conversations/conversations.repository.js';
import { MemoriesService } from '../memories/memories.service.js';
import { ChatExchangesRepository, SESSION_TOUCH_SECONDS, type ExchangeWrite } from './chat-exchanges.repository.js';
import type { Turn } from './chat-turns.js';

/** One upstream round of a turn, as stored: the answer, and the server tools it ran. */
export interface StoredRound {
  run: ChatRun;
  executed: readonly ExecutedCall[];
  /** Overrides the answer's own (`length` when max_tool_rounds stopped the turn). */
  finishReason?: string | null;
}

const TITLE_CHARS = 80;
const MESSAGE_STATUS: Record<CallStatus, NonNullable<NewMessage['status']>> = {
  ok: 'complete',
  aborted: 'incomplete',
  incomplete: 'incomplete',
  error: 'error',
};

/**
 * Stores what a metered turn produced: its usage record, the new messages and the answer, in one
 * statement (a transaction only when a fact is remembered with it), before the response ends, so that the
 * next turn always sees this one. No running total is written: the conversation's and the
 * session's are read from the messages and the usage records. A call that failed before
 * answering stores nothing (no conversation is created for it: the client never learnt its id);
 * an answer cut short by the client or the upstream is stored as incomplete, a failed one as error.
 */
@Injectable()
export class ChatExchanges {
  constructor(
    private readonly tokens: TokenCounter,
    private readonly repo: ChatExchangesRepository,
    private readonly memories: MemoriesService,
    private readonly transactions: TransactionRunner,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  /** Whether the call produced anything to store (else its usage record is all there is). */
  answered(run: ChatRun): boolean {
    return run.outcome.status === 'ok' || run.text !== '' || run.toolCalls !== null;
  }

  /**
   * Stores the turn with its usage records (one per upstream round), in one commit: the new
   * messages, then per round the assistant's answer (its tool calls as the model spelt them) and
   * the results of the server tools it ran, as `tool` messages. Throws `storage_failed`.
   */
  async store(turn: Turn, rounds: readonly StoredRound[], records: readonly UsageEntry[]): Promise<void> {
    const answered = rounds.some((r) => this.answered(r.run));
    const createsConversation = !turn.thread && answered;
    const messages: NewMessage[] = answered ? turn.fresh.map((m, i) => newMessage(m, turn.freshTokens[i])) : [];
    for (const [index, round] of (answered ? rounds : []).entries()) {
      const { run } = round;
      if (run.text || run.toolCalls) {
        const reply: ChatMessage = { role: 'assistant', content: run.text || null, ...(run.toolCalls ? { tool_calls: run.toolCalls } : {}) };
        const [replyTokens] = await this.tokens.countMessages([reply], turn.model.imageTokens);
        messages.push({
          role: 'assistant',
          content: reply.content,
          toolCalls: run.toolCalls,
          tokens: replyTokens,
          promptTokens: run.outcome.usage.promptTokens,
          completionTokens: run.outcome.usage.completionTokens,
          // records[i] is rounds[i]'s usage record.
          costMicros: records[index]?.costMicros ?? null,
          model: turn.call.responseModel,
          status: MESSAGE_STATUS[run.outcome.status],
          finishReason: round.finishReason ?? run.finishReason,
        });
      }
      const results: ChatMessage[] = round.executed.map((r) => ({ role: 'tool', content: r.text, tool_call_id: r.toolCallId }));
      const resultTokens = results.length ? await this.tokens.countMessages(results, turn.model.imageTokens) : [];
      results.forEach((m, i) => messages.push(newMessage(m, resultTokens[i])));
    }
    const conversationId = turn.thread || createsConversation ? turn.conversationId : null;
    const exchange: ExchangeWrite = {
      conversationId,
      start: createsConversation
        ? {
            userId: turn.caller.userId,
            title: turn.body.title ?? deriveTitle(turn.fresh),
            tags: turn.body.tags ?? [],
            metadata: turn.body.metadata ?? {},
            key: turn.key,
            endUser: turn.endUser,
          }
        : null,
      sessionId: turn.sessionId,
      touchSession: Date.now() - turn.sessionActiveAt.getTime() >= SESSION_TOUCH_SECONDS * 1000,
      model: turn.call.responseModel,
      profile: turn.persona?.id ?? null,
      messages,
      records: recordsJson(records),
    };
    const remember = turn.body.save_memory && rounds.at(-1)?.run.outcome.status === 'ok';
    try {
      if (!remember) await this.repo.store(exchange);
      else
        await this.transactions.run(async (tx) => {
          await this.repo.store(exchange, tx);
          await this.memories.saveFromChat(tx, turn.caller.userId, turn.endUser, lastUserText(turn.fresh), conversationId);
        });
    } catch (err) {
      this.logger.error({ err: (err as Error).message, userId: turn.caller.userId }, 'a chat turn was metered but could not be stored');
      throw new DomainError('internal', 'The answer could not be stored in the conversation; the call is metered.', {
        code: 'storage_failed',
        cause: err,
      });
    }
  }
}

function newMessage(message: ChatMessage, tokens: number): NewMessage {
  return {
    role: message.role,
    content: message.content ?? null,
    name: message.name ?? null,
    toolCalls: message.tool_calls ?? null,
    toolCallId: message.tool_call_id ?? null,
    tokens,
    fileIds: fileIdsOf(message),
  };
}

function fileIdsOf(message: ChatMessage): string[] {
  if (!Array.isArray(message.content)) return [];
  return message.content.flatMap((p) => (p.type === 'file' && p.file.file_id ? [p.file.file_id] : []));
}

/** The first user text, cut on a word boundary. */
function deriveTitle(messages: ChatMessage[]): string | null {
  const first = messages.find((m) => m.role === 'user');
  if (!first) return null;
  const text = (
    typeof first.content === 'string'
      ? first.content
      : (first.content ?? []).map((p) => (p.type === 'text' ? (p as { text: string }).text : '')).join(' ')
  )
    .replace(/\s+/g, ' ')
    .trim();
  if (!text) return null;
  if (text.length <= TITLE_CHARS) return text;
  const cut = text.slice(0, TITLE_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${(space > 40 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The text of the turn's last user message (its text parts joined), for save_memory. */
function lastUserText(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return (last.content ?? [])
    .filter((p): p is { type: 'text'; text: string } => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}
