import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import type { Caller } from '../../common/http/caller.js';
import { clientDisconnectSignal } from '../../common/http/sse.js';
import { uuidv7 } from '../../common/ids.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { toHttpError } from '../../common/errors/error-table.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import type { ChatCompletion, ChatMessage, ChatRequestBody, ContentPart, FilePart } from '../../llm/chat-types.js';
import { ModelCatalog, type ResolvedModel } from '../../llm/model-catalog.js';
import type { Persona } from '../../llm/personas.js';
import { costMicros, microsToUsd } from '../../llm/pricing.js';
import { REPLY_PRIMING, TokenCounter } from '../../llm/token-counter.js';
import { TransactionRunner } from '../../persistence/transaction-runner.js';
import type { CallOutcome, PreparedCall } from '../completions/completion-runner.js';
import { CompletionRunner } from '../completions/completion-runner.js';
import { usageEntry, type RequestMeta } from '../completions/completions.service.js';
import type { MessageRow, NewMessage } from '../conversations/conversations.repository.js';
import { ConversationsService, type ChatThread } from '../conversations/conversations.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { AttachmentResolver } from '../files/attachment-resolver.service.js';
import type { ChunkSink } from '../../common/http/chunk-sink.js';
import { Admission, LimitsService } from '../limits/limits.service.js';
import { MemoriesService } from '../memories/memories.service.js';
import { UsageRecorder } from '../usage/usage-recorder.service.js';
import type { ChatBody } from './chat.schemas.js';
import { fitContext, type PromptItem } from './context-window.js';

/** The /chat fields that are not OpenAI's: they shape the turn and are not sent upstream. */
const CHAT_ONLY_FIELDS = new Set(['conversation_id', 'session_id', 'title', 'tags', 'metadata', 'profile', 'messages', 'model', 'file_ids', 'use_memory', 'save_memory']);
const TITLE_CHARS = 80;
const MESSAGE_STATUS: Record<CallOutcome['status'], NewMessage['status'] & string> = {
  ok: 'complete',
  aborted: 'incomplete',
  incomplete: 'incomplete',
  error: 'error',
};

interface Turn {
  caller: Caller;
  body: ChatBody;
  /** The new messages as stored: file references, not their text. */
  fresh: ChatMessage[];
  /** Tokens of each new message once its attachments are expanded. */
  freshTokens: number[];
  model: ResolvedModel;
  persona: Persona | null;
  thread: ChatThread | null;
  conversationId: string;
  sessionId: string;
  call: PreparedCall;
  meta: RequestMeta;
}

/** What POST /chat answers without streaming. */
export type ChatAnswer = ChatCompletion & { conversation_id: string; session_id: string; cost: number };

/**
 * POST /chat: a conversation turn. Loads the stored history, fits it to the model's context,
 * calls the model, then stores the new messages, the usage record and the running totals of the
 * conversation and the session in one transaction (before the response ends, so the next turn
 * always sees this one).
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly runner: CompletionRunner,
    private readonly tokens: TokenCounter,
    private readonly conversations: ConversationsService,
    private readonly sessions: SessionsService,
    private readonly usage: UsageRecorder,
    private readonly transactions: TransactionRunner,
    private readonly attachments: AttachmentResolver,
    private readonly limits: LimitsService,
    private readonly config: AppConfig,
    private readonly memories: MemoriesService,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  async chat(caller: Caller, body: ChatBody, reply: FastifyReply, meta: RequestMeta): Promise<void> {
    const turn = await this.prepare(caller, body, meta);
    const admission = await this.limits.admit(caller, turn.call);
    const signal = clientDisconnectSignal(reply);
    const headers = { ...admission.headers, 'x-conversation-id': turn.conversationId, 'x-session-id': turn.sessionId };

    if (!body.stream) {
      const answer = await this.finishBlocking(turn, admission, signal);
      if (answer) await reply.headers(headers).send(answer);
      return;
    }

    await this.streamTurn(turn, admission, this.runner.sse(reply, headers), signal);
  }

  /**
   * A streamed turn over another transport (the WebSocket): prepared, admitted, stored and
   * metered exactly as POST /chat with `stream: true`. Errors before the first chunk are thrown.
   */
  async stream(caller: Caller, body: ChatBody, sink: ChunkSink, meta: RequestMeta, signal: AbortSignal): Promise<void> {
    const turn = await this.prepare(caller, { ...body, stream: true }, meta);
    const admission = await this.limits.admit(caller, turn.call);
    await this.streamTurn(turn, admission, sink, signal);
  }

  private async streamTurn(turn: Turn, admission: Admission, sink: ChunkSink, signal: AbortSignal): Promise<void> {
    const run = await this.runner.runStreaming(turn.call, sink, signal);
    let cost: number;
    try {
      cost = await this.store(turn, run.outcome, admission);
    } catch (err) {
      // The answer has been streamed (and metered): the client learns in-band that it was not stored.
      if (!run.writer) throw err;
      const http = toHttpError(err);
      await run.writer.fail(http.body, http.status);
      run.writer.end();
      return;
    }
    if (!run.writer) {
      if (run.outcome.error) throw run.outcome.error;
      return;
    }
    if (run.outcome.status === 'ok') {
      await run.writer.send({
        ...this.runner.usageChunk(run, turn.call),
        conversation_id: turn.conversationId,
        session_id: turn.sessionId,
        cost: microsToUsd(cost),
      });
    }
    run.writer.end();
  }

  /**
   * A turn without HTTP and without streaming (the job worker's): the /chat response, or null
   * when the signal aborted it. Limits, storage and metering are those of POST /chat.
   */
  async run(caller: Caller, body: ChatBody, meta: RequestMeta, signal: AbortSignal): Promise<ChatAnswer | null> {
    const turn = await this.prepare(caller, { ...body, stream: false }, meta);
    const admission = await this.limits.admit(caller, turn.call);
    return this.finishBlocking(turn, admission, signal);
  }

  private async finishBlocking(turn: Turn, admission: Admission, signal: AbortSignal): Promise<ChatAnswer | null> {
    const outcome = await this.runner.runBlocking(turn.call, signal);
    const cost = await this.store(turn, outcome, admission);
    if (outcome.error) throw outcome.error;
    if (outcome.status !== 'ok' || !outcome.completion) return null;
    return { ...outcome.completion, conversation_id: turn.conversationId, session_id: turn.sessionId, cost: microsToUsd(cost) };
  }

  private async prepare(caller: Caller, body: ChatBody, meta: RequestMeta): Promise<Turn> {
    const thread = body.conversation_id ? await this.conversations.openForChat(caller, body.conversation_id) : null;
    // `profile: null` turns the conversation's persona off; absent keeps it.
    const profile = body.profile === undefined ? (thread?.conversation.profile ?? null) : body.profile;
    const persona = profile ? this.catalog.persona(profile) : null;
    const model = this.catalog.resolve(body.model ?? thread?.conversation.model ?? undefined);
    const session = await this.sessions.resolveForRequest(caller, body.session_id);

    const rows = (thread?.history ?? []).filter((m) => !(m.status === 'error' && !m.content));
    const freshMessages = attachFiles(body.messages as ChatMessage[], body.file_ids ?? []);
    const requestedOutput = body.max_completion_tokens ?? body.max_tokens ?? Math.min(model.maxOutputTokens, 4_096);
    // What cannot fit whatever its tokens is refused from its size alone, before any counting.
    this.runner.assertFits(TokenCounter.promptFloor(freshMessages), body.max_completion_tokens ?? body.max_tokens ?? null, model);
    const expanded = await this.attachments.expand(caller, [...rows.map(fromStored), ...freshMessages], model, rows.length);
    const freshExpanded = expanded.messages.slice(rows.length);
    const freshTokens = await this.tokens.countMessages(freshExpanded, model.imageTokens);
    const stored = rows.map((row, i) => ({ message: expanded.messages[i], tokens: row.tokens }));
    const fresh = freshExpanded.map((message, k) => ({ message, tokens: freshTokens[k] + expanded.extraTokens[rows.length + k] }));
    const isSystem = (i: PromptItem) => i.message.role === 'system' || i.message.role === 'developer';
    const system = [...stored.filter(isSystem), ...fresh.filter(isSystem)];
    const effectivePersona = persona ?? model.persona;
    let personaTokens = effectivePersona && !system.length ? this.tokens.count(effectivePersona.system_prompt) + 4 : 0;
    const memory = body.use_memory ? await this.memories.promptMessage(caller.userId) : null;
    if (memory) {
      // The persona's prompt goes first, then the memories; both are sent, neither is stored.
      if (personaTokens) system.unshift({ message: { role: 'system', content: effectivePersona!.system_prompt }, tokens: personaTokens });
      personaTokens = 0;
      system.push({ message: memory.message, tokens: memory.tokens });
    }
    const budget = Math.min(model.contextWindow - requestedOutput, this.config.limits.maxInputTokens);
    const fitted = fitContext(system, stored.filter((i) => !isSystem(i)), fresh.filter((i) => !isSystem(i)), budget, personaTokens);

    const upstream: ChatRequestBody = { model: model.id, messages: fitted.messages };
    for (const [key, value] of Object.entries(body)) {
      if (!CHAT_ONLY_FIELDS.has(key) && value !== undefined) upstream[key] = value;
    }
    const keptTokens = fitted.items.reduce((n, i) => n + i.tokens, 0) + personaTokens + REPLY_PRIMING;
    const promptTokens = keptTokens + (upstream.tools ? await this.tokens.countText(JSON.stringify(upstream.tools)) : 0);
    const call = await this.runner.prepare(model, upstream, { persona: effectivePersona, responseModel: model.id, promptTokens });
    return {
      caller,
      body,
      fresh: freshMessages,
      freshTokens: fresh.map((i) => i.tokens),
      model,
      persona,
      thread,
      conversationId: thread?.conversation.id ?? uuidv7(),
      sessionId: session.id,
      call,
      meta,
    };
  }

  /**
   * Meters the call, then stores what the turn produced. The usage record is written first, on
   * its own, so that a paid call is on the ledger whatever happens to the conversation; the
   * messages and running totals then go in one transaction (before the response ends, so the next
   * turn always sees this one). A call that failed before answering stores only its usage; an
   * answer cut short by the client or the upstream is stored as incomplete/error, with the
   * user's messages. Throws when the conversation could not be stored (the record stays).
   */
  private async store(turn: Turn, outcome: CallOutcome, admission: Admission): Promise<number> {
    const cost = costMicros((outcome.answered?.model ?? turn.model).pricing, outcome.usage);
    await admission.settle(outcome.usage, cost);
    // Nothing was answered (a failure, or a client gone before the first word): store no messages
    // and create no conversation, as the client never learnt its id; the usage is still metered.
    const answered = outcome.status === 'ok' || outcome.text !== '' || outcome.toolCalls !== null;
    const isNew = !turn.thread;
    const createsConversation = isNew && answered;
    const links = { conversationId: isNew ? null : turn.conversationId, sessionId: turn.sessionId };
    const entry = usageEntry(turn.caller, turn.call, outcome, turn.meta, turn.body.user, links);
    const recordId = await this.usage.write(entry);

    const messages: NewMessage[] = answered ? turn.fresh.map((m, i) => this.newMessage(m, turn.freshTokens[i])) : [];
    if (answered && (outcome.text || outcome.toolCalls)) {
      const reply: ChatMessage = { role: 'assistant', content: outcome.text || null, ...(outcome.toolCalls ? { tool_calls: outcome.toolCalls } : {}) };
      const [replyTokens] = await this.tokens.countMessages([reply], turn.model.imageTokens);
      messages.push({
        role: 'assistant',
        content: reply.content,
        toolCalls: outcome.toolCalls,
        tokens: replyTokens,
        promptTokens: outcome.usage.promptTokens,
        completionTokens: outcome.usage.completionTokens,
        model: turn.call.responseModel,
        status: MESSAGE_STATUS[outcome.status],
        finishReason: outcome.finishReason,
      });
    }

    const activity = {
      messages: messages.length,
      promptTokens: entry.promptTokens,
      completionTokens: entry.completionTokens,
      costMicros: entry.costMicros,
      model: turn.call.responseModel,
      profile: turn.persona?.id ?? null,
    };
    try {
      await this.transactions.run(async (tx) => {
        if (createsConversation) {
          await this.conversations.startInChat(
            tx,
            {
              id: turn.conversationId,
              userId: turn.caller.userId,
              sessionId: turn.sessionId,
              title: turn.body.title ?? deriveTitle(turn.fresh),
              tags: turn.body.tags ?? [],
              metadata: turn.body.metadata ?? {},
            },
            messages,
            activity,
          );
          // The record was written before the conversation existed; now it can point at it.
          await this.usage.linkConversation(tx, recordId, turn.conversationId);
        }
        if (turn.body.save_memory && outcome.status === 'ok') {
          await this.memories.saveFromChat(tx, turn.caller.userId, lastUserText(turn.fresh), createsConversation ? turn.conversationId : links.conversationId);
        }
        if (links.conversationId) await this.conversations.appendExchange(tx, links.conversationId, messages, activity);
        await this.sessions.addActivity(tx, turn.sessionId, {
          conversations: createsConversation ? 1 : 0,
          messages: messages.length,
          requests: 1,
          promptTokens: entry.promptTokens,
          completionTokens: entry.completionTokens,
          costMicros: entry.costMicros,
        });
      });
    } catch (err) {
      this.logger.error({ err: (err as Error).message, requestId: turn.meta.requestId, userId: turn.caller.userId }, 'a chat turn was metered but could not be stored');
      throw new DomainError('internal', 'The answer could not be stored in the conversation; the call is metered.', { code: 'storage_failed', cause: err });
    }
    return cost;
  }

  private newMessage(message: ChatMessage, tokens: number): NewMessage {
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
}

/** `file_ids` become file parts of the last user message (references, expanded per call). */
function attachFiles(messages: ChatMessage[], fileIds: string[]): ChatMessage[] {
  if (!fileIds.length) return messages;
  const last = messages.map((m) => m.role).lastIndexOf('user');
  if (last < 0) throw new DomainError('invalid', 'Files need a user message to attach to.', { param: 'file_ids' });
  const target = messages[last];
  const parts: ContentPart[] = typeof target.content === 'string' ? [{ type: 'text', text: target.content }] : [...(target.content ?? [])];
  for (const id of fileIds) parts.push({ type: 'file', file: { file_id: id } });
  return messages.map((m, i) => (i === last ? { ...m, content: parts } : m));
}

function fileIdsOf(message: ChatMessage): string[] {
  if (!Array.isArray(message.content)) return [];
  return message.content.flatMap((p) => (p.type === 'file' && (p as FilePart).file.file_id ? [(p as FilePart).file.file_id!] : []));
}

/** A stored message as it goes back into a prompt. */
function fromStored(row: MessageRow): ChatMessage {
  const message: ChatMessage = { role: row.role as ChatMessage['role'], content: row.content as ChatMessage['content'] };
  if (row.name) message.name = row.name;
  if (row.toolCalls) message.tool_calls = row.toolCalls as unknown as ChatMessage['tool_calls'];
  if (row.toolCallId) message.tool_call_id = row.toolCallId;
  return message;
}

/** The first user text, cut on a word boundary. */
function deriveTitle(messages: ChatMessage[]): string | null {
  const first = messages.find((m) => m.role === 'user');
  if (!first) return null;
  const text = (typeof first.content === 'string'
    ? first.content
    : (first.content ?? []).map((p) => (p.type === 'text' ? (p as { text: string }).text : '')).join(' ')
  ).replace(/\s+/g, ' ').trim();
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
    .filter((p): p is { type: 'text'; text: string } => (p as ContentPart).type === 'text')
    .map((p) => p.text)
    .join('\n');
}
