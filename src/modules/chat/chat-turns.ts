import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import { endUserOf, type Caller } from '../../common/http/caller.js';
import { uuidv7 } from '../../common/ids.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChatMessage, ChatRequestBody, ContentPart } from '../../llm/chat-types.js';
import { ModelCatalog, type ResolvedModel } from '../../llm/model-catalog.js';
import type { Persona } from '../../llm/personas.js';
import { REPLY_PRIMING, TokenCounter } from '../../llm/token-counter.js';
import { CompletionRunner, type PreparedCall } from '../completions/completion-runner.js';
import type { MessageRow } from '../conversations/conversations.repository.js';
import { ConversationsService, type ChatThread } from '../conversations/conversations.service.js';
import { AttachmentResolver } from '../files/attachment-resolver.service.js';
import { MemoriesService } from '../memories/memories.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { OfferedTool } from '../tools/tool-types.js';
import { ToolsService } from '../tools/tools.service.js';
import type { ChatBody } from './chat.schemas.js';
import { fitContext, type PromptItem } from './context-window.js';

/** The /chat fields that are not OpenAI's: they shape the turn and are not sent upstream. */
const CHAT_ONLY_FIELDS = new Set([
  'conversation_id',
  'session_id',
  'title',
  'tags',
  'metadata',
  'profile',
  'messages',
  'model',
  'file_ids',
  'use_memory',
  'save_memory',
  'server_tools',
  'max_tool_rounds',
  'provider',
  'chat_id',
  'user_id',
  'include_user_memory',
  'save_to_user_memory',
]);

/** A conversation turn ready to call the model: who, which conversation and session, what to send. */
export interface Turn {
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
  /** The session's last activity as read for this turn (it is written again only when stale). */
  sessionActiveAt: Date;
  call: PreparedCall;
  /** The server tools offered to the model (server_tools), appended to the client's own `tools`. */
  offered: OfferedTool[];
  /** The conversation's key: its own, or the one a new conversation is created with. */
  key: string | null;
  /** The end user (OpenAI's `user`) the turn is for under the account; '' = the account itself. */
  endUser: string;
}

/**
 * Prepares a /chat turn: opens the conversation (the caller's own) and the session, expands the
 * attachments, puts the persona and memories first, and keeps the newest history that fits the
 * model's context with the new messages.
 */
@Injectable()
export class ChatTurns {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly runner: CompletionRunner,
    private readonly tokens: TokenCounter,
    private readonly conversations: ConversationsService,
    private readonly sessions: SessionsService,
    private readonly attachments: AttachmentResolver,
    private readonly memories: MemoriesService,
    private readonly config: AppConfig,
    private readonly tools: ToolsService,
  ) {}

  /**
   * Smart-Host's fields in /chat's own terms: `chat_id` is `conversation_id`, `user_id` is `user`,
   * `include_user_memory` / `save_to_user_memory` are `use_memory` / `save_memory`, and `provider`
   * picks `model` within that provider. Both spellings of one field must agree.
   */
  normalise(body: ChatBody): ChatBody {
    const out: ChatBody = { ...body };
    const alias = <K extends keyof ChatBody>(from: keyof ChatBody, to: K) => {
      if (body[from] === undefined) return;
      if (body[to] !== undefined && body[to] !== body[from]) {
        throw new DomainError('invalid', `${String(from)} and ${String(to)} name different values; send one of them.`, { param: String(from) });
      }
      out[to] = body[from] as ChatBody[K];
    };
    alias('chat_id', 'conversation_id');
    alias('user_id', 'user');
    alias('include_user_memory', 'use_memory');
    alias('save_to_user_memory', 'save_memory');
    if (body.provider) out.model = this.catalog.idWithin(body.provider, body.model);
    return out;
  }

  async prepare(caller: Caller, raw: ChatBody): Promise<Turn> {
    const body = this.normalise(raw);
    const endUser = endUserOf(caller, body.user);
    const opened = body.conversation_id ? await this.conversations.openForChat(caller, body.conversation_id, endUser) : null;
    const thread = opened?.thread ?? null;
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
    // A client that sends its system prompt with every turn (Smart-Host's and Llamalith's do) gets it in the prompt once.
    const seen = new Set<string>();
    const system = [...stored, ...fresh].filter((i) => {
      if (!isSystem(i)) return false;
      const text = JSON.stringify(i.message.content);
      return seen.has(text) ? false : Boolean(seen.add(text));
    });
    const effectivePersona = persona ?? model.persona;
    let personaTokens = effectivePersona && !system.length ? this.tokens.count(effectivePersona.system_prompt) + 4 : 0;
    const memory = body.use_memory ? await this.memories.promptMessage(caller.userId, endUser) : null;
    if (memory) {
      // The persona's prompt goes first, then the memories; both are sent, neither is stored.
      if (personaTokens) system.unshift({ message: { role: 'system', content: effectivePersona!.system_prompt }, tokens: personaTokens });
      personaTokens = 0;
      system.push({ message: memory.message, tokens: memory.tokens });
    }
    const budget = Math.min(model.contextWindow - requestedOutput, this.config.limits.maxInputTokens);
    const fitted = fitContext(
      system,
      stored.filter((i) => !isSystem(i)),
      fresh.filter((i) => !isSystem(i)),
      budget,
      personaTokens,
    );

    const upstream: ChatRequestBody = { model: model.id, messages: fitted.messages };
    for (const [key, value] of Object.entries(body)) {
      if (!CHAT_ONLY_FIELDS.has(key) && value !== undefined) upstream[key] = value;
    }
    const offered = this.offerTools(caller, body, model);
    if (offered.length) upstream.tools = [...(upstream.tools ?? []), ...offered.map((o) => o.definition)];
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
      sessionActiveAt: session.lastActivityAt,
      call,
      offered,
      key: opened?.key ?? null,
      endUser,
    };
  }

  /** The server tools the turn offers, refusing a model without tools and a client tool of the same name. */
  private offerTools(caller: Caller, body: ChatBody, model: ResolvedModel): OfferedTool[] {
    if (!body.server_tools) return [];
    if (!model.tools)
      throw new DomainError('invalid', `The model '${model.id}' does not support tools.`, { param: 'server_tools', code: 'model_not_tool_capable' });
    const offered = this.tools.offer(caller, body.server_tools);
    const own = new Set(clientToolNames(body));
    const clash = offered.find((o) => own.has(o.functionName));
    if (clash)
      throw new DomainError('invalid', `A tool of yours is named ${clash.functionName}, as the server tool ${clash.name} is offered.`, {
        param: 'tools',
      });
    return offered;
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

/** A stored message as it goes back into a prompt. */
function fromStored(row: MessageRow): ChatMessage {
  const message: ChatMessage = { role: row.role as ChatMessage['role'], content: row.content as ChatMessage['content'] };
  if (row.name) message.name = row.name;
  if (row.toolCalls) message.tool_calls = row.toolCalls as unknown as ChatMessage['tool_calls'];
  if (row.toolCallId) message.tool_call_id = row.toolCallId;
  return message;
}

/** The function names of the client's own tools (their calls go back to the client). */
export function clientToolNames(body: ChatBody): string[] {
  const tools = (body as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t: { function?: { name?: unknown } }) => (typeof t?.function?.name === 'string' ? [t.function.name] : []));
}
