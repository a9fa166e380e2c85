import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { toHttpError } from '../../common/errors/error-table.js';
import type { ChunkSink } from '../../common/http/chunk-sink.js';
import { SseWriter } from '../../common/http/sse.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequestBody, ToolCall } from '../../llm/chat-types.js';
import { LlmGateway, NOT_SENT, type Answered } from '../../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import type { ResolvedModel } from '../../llm/model-catalog.js';
import type { Persona } from '../../llm/personas.js';
import { NO_TOKENS, tokenUsage, type TokenUsage } from '../../llm/pricing.js';
import { TokenCounter } from '../../llm/token-counter.js';

/** A request ready for the upstream: model resolved, persona applied, tokens counted. */
/** What limits and metering need of any upstream call (chat or embeddings). */
export interface MeteredCallPlan {
  model: ResolvedModel;
  /** What responses and chunks carry as `model`. */
  responseModel: string;
  /** Prompt tokens as counted here (the fallback when the upstream reports none). */
  promptTokens: number;
  /** The most the answer may cost in tokens (max_tokens, else the model's maximum). */
  maxOutputTokens: number;
  /** The most the call may cost, where tokens do not tell (images priced per image). */
  worstCostMicros?: number;
}

export interface PreparedCall extends MeteredCallPlan {
  body: ChatRequestBody;
  /** The client asked for the usage chunk. */
  includeUsage: boolean;
}

export interface CallOutcome {
  status: 'ok' | 'error' | 'aborted';
  answered: Answered | null;
  usage: TokenUsage;
  /** True when any token figure is our count rather than the upstream's. */
  estimated: boolean;
  text: string;
  toolCalls: ToolCall[] | null;
  finishReason: string | null;
  latencyMs: number;
  ttftMs: number | null;
  error: DomainError | null;
  completion: ChatCompletion | null;
}

export interface StreamRun {
  outcome: CallOutcome;
  /** Open for the caller's last frame; call end() when done. Null when nothing was committed. */
  writer: ChunkSink | null;
  /** The id the relayed chunks carried. */
  chunkId: string;
  created: number;
}


/**
 * Runs one chat call against the gateway and reports what happened, success or not, so that the
 * caller can meter every call. Streaming: the 200 is committed only once the first chunk is in
 * hand; afterwards a failure becomes an in-band error frame, and a client that leaves aborts the
 * upstream call.
 */
@Injectable()
export class CompletionRunner {
  constructor(
    private readonly gateway: LlmGateway,
    private readonly tokens: TokenCounter,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Resolves persona and limits into the upstream body, and refuses what cannot fit. */
  prepare(
    model: ResolvedModel,
    body: ChatRequestBody,
    options: { persona?: Persona | null; responseModel?: string; promptTokens?: number } = {},
  ): PreparedCall {
    const persona = options.persona ?? model.persona;
    const upstream: ChatRequestBody = { ...body, model: model.id };
    if (persona) {
      for (const [key, value] of Object.entries(persona.defaults)) {
        if (upstream[key] === undefined || upstream[key] === null) upstream[key] = value;
      }
      if (!body.messages.some((m) => m.role === 'system' || m.role === 'developer')) {
        upstream.messages = [{ role: 'system', content: persona.system_prompt }, ...body.messages];
      }
    }
    delete upstream.stream;
    delete upstream.stream_options;
    if (!model.vision) assertNoImages(upstream.messages, model.id);
    // A caller that already counted (the chat, whose documents are long) passes its figure on.
    const promptTokens = options.promptTokens ?? this.tokens.countPrompt(upstream.messages, upstream.tools);
    const requestedOutput = upstream.max_completion_tokens ?? upstream.max_tokens ?? null;
    if (promptTokens > this.config.limits.maxInputTokens) {
      throw contextExceeded(promptTokens, null, this.config.limits.maxInputTokens, 'The server accepts at most');
    }
    if (promptTokens + (requestedOutput ?? 0) > model.contextWindow) {
      throw contextExceeded(promptTokens, requestedOutput, model.contextWindow, "This model's maximum context length is");
    }
    return {
      model,
      body: upstream,
      responseModel: options.responseModel ?? model.id,
      promptTokens,
      maxOutputTokens: Math.min(requestedOutput ?? model.maxOutputTokens, model.maxOutputTokens, model.contextWindow - promptTokens),
      includeUsage: body.stream_options?.include_usage === true,
    };
  }

  async runBlocking(call: PreparedCall, signal: AbortSignal): Promise<CallOutcome> {
    const start = performance.now();
    try {
      const answer = await this.gateway.complete(call.model, call.body, signal);
      const completion = normaliseCompletion(answer.completion, call.responseModel);
      const message = completion.choices[0]?.message;
      const text = typeof message?.content === 'string' ? message.content : '';
      const toolCalls = message?.tool_calls ?? null;
      const usage = completion.usage ? tokenUsage(completion.usage) : this.estimate(call, text, toolCalls);
      if (!completion.usage) completion.usage = usageObject(usage);
      const latencyMs = performance.now() - start;
      return {
        status: 'ok',
        answered: answer,
        usage,
        estimated: !answer.completion.usage,
        text,
        toolCalls,
        finishReason: completion.choices[0]?.finish_reason ?? null,
        latencyMs,
        ttftMs: latencyMs,
        error: null,
        completion,
      };
    } catch (err) {
      return this.failed(call, err, start, '', null);
    }
  }

  /** Opens the upstream stream and relays it; the caller writes its last frame and ends. */
  /** An SSE sink on an HTTP reply, pinging at the configured interval. */
  sse(reply: FastifyReply, headers: Record<string, string> = {}): SseWriter {
    return new SseWriter(reply, { headers, pingIntervalMs: this.config.upstream.pingIntervalMs });
  }

  async runStreaming(call: PreparedCall, writer: ChunkSink, signal: AbortSignal): Promise<StreamRun> {
    const start = performance.now();
    let opened;
    try {
      opened = await this.gateway.openStream(call.model, call.body, signal);
    } catch (err) {
      return { outcome: this.failed(call, err, start, '', null), writer: null, chunkId: '', created: 0 };
    }
    const ttftMs = performance.now() - start;
    writer.open();
    this.metrics.activeStreams.inc();
    writer.onClose(() => this.metrics.activeStreams.dec());
    writer.onClientGone(() => void opened.cancel());

    const acc = new StreamAccumulator(call.responseModel);
    let failure: unknown = null;
    try {
      let chunk: ChatChunk | undefined = opened.first;
      while (chunk) {
        const forward = acc.take(chunk);
        if (forward) await writer.send(forward);
        if (writer.clientGone) break;
        const next: IteratorResult<ChatChunk> = await opened.next();
        chunk = next.done ? undefined : next.value;
      }
    } catch (err) {
      failure = err;
    }

    const latencyMs = performance.now() - start;
    const base = {
      answered: opened as Answered,
      text: acc.text,
      toolCalls: acc.toolCalls(),
      finishReason: acc.finishReason,
      latencyMs,
      ttftMs,
      completion: null,
    };
    if (writer.clientGone || (failure instanceof UpstreamFailure && failure.kind === 'aborted')) {
      await opened.cancel();
      const usage = this.estimate(call, acc.text, acc.toolCalls());
      return { outcome: { ...base, status: 'aborted', usage, estimated: true, error: null }, writer, chunkId: acc.id, created: acc.created };
    }
    if (failure) {
      await opened.cancel();
      const error = failure instanceof DomainError ? failure : new DomainError('upstream_error', 'The upstream stream failed.');
      const http = toHttpError(error);
      await writer.fail(http.body, http.status);
      const usage = acc.usage ?? this.estimate(call, acc.text, acc.toolCalls());
      return { outcome: { ...base, status: 'error', usage, estimated: !acc.usage, error }, writer, chunkId: acc.id, created: acc.created };
    }
    const usage = acc.usage ?? this.estimate(call, acc.text, acc.toolCalls());
    return { outcome: { ...base, status: 'ok', usage, estimated: !acc.usage, error: null }, writer, chunkId: acc.id, created: acc.created };
  }

  /** A usage-only chunk in OpenAI's shape (choices: []), for the stream's last frame. */
  usageChunk(run: StreamRun, call: PreparedCall): ChatChunk {
    return {
      id: run.chunkId,
      object: 'chat.completion.chunk',
      created: run.created,
      model: call.responseModel,
      choices: [],
      usage: usageObject(run.outcome.usage),
    };
  }

  private failed(call: PreparedCall, err: unknown, start: number, text: string, toolCalls: ToolCall[] | null): CallOutcome {
    const latencyMs = performance.now() - start;
    const aborted = err instanceof UpstreamFailure && err.kind === 'aborted';
    const sent = !(aborted && err.details.code === NOT_SENT);
    const error = err instanceof DomainError ? err : aborted ? null : new DomainError('upstream_error', 'The upstream call failed.');
    return {
      status: aborted ? 'aborted' : 'error',
      answered: null,
      // An abandoned call may already have been billed for its prompt; a refused or unsent one was not.
      usage: aborted && sent ? this.estimate(call, text, toolCalls) : NO_TOKENS,
      estimated: aborted && sent,
      text,
      toolCalls,
      finishReason: null,
      latencyMs,
      ttftMs: null,
      error,
      completion: null,
    };
  }

  private estimate(call: PreparedCall, text: string, toolCalls: ToolCall[] | null): TokenUsage {
    const completion = this.tokens.count(text) + (toolCalls ? this.tokens.count(JSON.stringify(toolCalls)) : 0);
    return { promptTokens: call.promptTokens, completionTokens: completion, cachedTokens: 0, reasoningTokens: 0 };
  }
}

/** Collects what a stream says (text, tool calls, usage) and rewrites chunks for the client. */
class StreamAccumulator {
  text = '';
  finishReason: string | null = null;
  usage: TokenUsage | null = null;
  id = '';
  created = Math.floor(Date.now() / 1000);
  private readonly calls = new Map<number, ToolCall>();

  constructor(private readonly responseModel: string) {}

  /** The chunk to forward, or null for a usage-only chunk (the caller sends its own last). */
  take(chunk: ChatChunk): ChatChunk | null {
    if (!this.id && chunk.id) {
      this.id = chunk.id;
      if (typeof chunk.created === 'number') this.created = chunk.created;
    }
    if (chunk.usage) this.usage = tokenUsage(chunk.usage);
    if (!chunk.choices?.length) return null;
    for (const choice of chunk.choices) {
      if (choice.index !== 0 && choice.index !== undefined) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') this.text += delta.content;
      if (Array.isArray(delta.tool_calls)) this.addToolCalls(delta.tool_calls as PartialToolCall[]);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    const out: ChatChunk = { ...chunk, model: this.responseModel };
    delete out.usage;
    for (const choice of out.choices) if (choice.logprobs === undefined) choice.logprobs = null;
    return out;
  }

  toolCalls(): ToolCall[] | null {
    return this.calls.size ? [...this.calls.values()] : null;
  }

  private addToolCalls(deltas: PartialToolCall[]): void {
    for (const d of deltas) {
      const index = d.index ?? 0;
      const call = this.calls.get(index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
      if (d.id) call.id = d.id;
      if (d.function?.name) call.function.name += d.function.name;
      if (d.function?.arguments) call.function.arguments += d.function.arguments;
      this.calls.set(index, call);
    }
  }
}

interface PartialToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Fills what some upstreams leave out, so every response matches OpenAI's schema. */
function normaliseCompletion(completion: ChatCompletion, model: string): ChatCompletion {
  completion.model = model;
  completion.object = 'chat.completion';
  if (typeof completion.created !== 'number') completion.created = Math.floor(Date.now() / 1000);
  for (const choice of completion.choices) {
    if (choice.logprobs === undefined) choice.logprobs = null;
    if (choice.finish_reason === undefined) choice.finish_reason = null;
    const message = choice.message ?? ({ role: 'assistant', content: null } as ChatCompletion['choices'][0]['message']);
    if (message.content === undefined) message.content = null;
    if (message.refusal === undefined) message.refusal = null;
    choice.message = message;
  }
  return completion;
}

function usageObject(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

function assertNoImages(messages: ChatMessage[], model: string): void {
  for (const [i, message] of messages.entries()) {
    if (Array.isArray(message.content) && message.content.some((p) => p.type === 'image_url')) {
      throw new DomainError('invalid', `The model '${model}' does not accept images.`, {
        param: `messages.${i}.content`,
        code: 'model_not_vision_capable',
      });
    }
  }
}

function contextExceeded(prompt: number, output: number | null, limit: number, lead: string): DomainError {
  const asked = output ? ` (${prompt} in the messages, ${output} for the completion)` : '';
  return new DomainError(
    'invalid',
    `${lead} ${limit} tokens. However, you requested ${prompt + (output ?? 0)} tokens${asked}. Please reduce the length of the messages.`,
    { param: 'messages', code: 'context_length_exceeded' },
  );
}
