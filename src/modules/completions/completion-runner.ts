import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { toHttpError } from '../../common/errors/error-table.js';
import type { ChunkSink } from '../../common/http/chunk-sink.js';
import { SseWriter } from '../../common/http/sse.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequestBody, ToolCall } from '../../llm/chat-types.js';
import { LlmGateway, NOT_SENT, type Answered } from '../../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import type { ResolvedModel } from '../../llm/model-catalog.js';
import type { Persona } from '../../llm/personas.js';
import { NO_TOKENS, readUsage, type TokenUsage, type UsageBounds } from '../../llm/pricing.js';
import { TokenCounter } from '../../llm/token-counter.js';

/** What limits and metering need of any upstream call (chat or embeddings). */
export interface MeteredCallPlan {
  model: ResolvedModel;
  /** What responses and chunks carry as `model`. */
  responseModel: string;
  /** Prompt tokens as counted here, with the most its images, audio and files may cost (the fallback when the upstream reports none). */
  promptTokens: number;
  /** The most the answer may cost in tokens, over all its choices (max_tokens, else the model's maximum, times n). */
  maxOutputTokens: number;
  /** The most the call may cost, where tokens do not tell (images priced per image). */
  worstCostMicros?: number;
}

/** A request ready for the upstream: model resolved, persona applied, tokens counted. */
export interface PreparedCall extends MeteredCallPlan {
  body: ChatRequestBody;
  /** The client asked for the usage chunk. */
  includeUsage: boolean;
}

export interface CallOutcome {
  /** incomplete: the upstream ended its stream before the answer was finished (no finish_reason). */
  status: 'ok' | 'error' | 'aborted' | 'incomplete';
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
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  /**
   * Resolves persona and limits into the upstream body, and refuses what cannot fit.
   * `extraTokens`: what parts the counter cannot see cost at most (inline documents).
   */
  async prepare(
    model: ResolvedModel,
    body: ChatRequestBody,
    options: { persona?: Persona | null; responseModel?: string; promptTokens?: number; extraTokens?: number } = {},
  ): Promise<PreparedCall> {
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
    const requestedOutput = upstream.max_completion_tokens ?? upstream.max_tokens ?? null;
    // A caller that already counted (the chat, whose documents are long) passes its figure on.
    let promptTokens = options.promptTokens;
    if (promptTokens === undefined) {
      // What cannot fit whatever its tokens is refused from its size alone, before any counting.
      this.assertFits(TokenCounter.promptFloor(upstream.messages), requestedOutput, model);
      promptTokens = (await this.tokens.countPrompt(upstream.messages, upstream.tools, model.imageTokens)) + (options.extraTokens ?? 0);
    }
    this.assertFits(promptTokens, requestedOutput, model);
    // Each of n choices may be as long as max_tokens: the worst case is per choice times n.
    const choices = Math.max(1, upstream.n ?? 1);
    const perChoice = Math.min(requestedOutput ?? model.maxOutputTokens, model.maxOutputTokens, model.contextWindow - promptTokens);
    return {
      model,
      body: upstream,
      responseModel: options.responseModel ?? model.id,
      promptTokens,
      maxOutputTokens: perChoice * choices,
      includeUsage: body.stream_options?.include_usage === true,
    };
  }

  /** Refuses a prompt that cannot fit the server's limit or the model's context window. */
  assertFits(promptTokens: number, requestedOutput: number | null, model: ResolvedModel): void {
    if (promptTokens > this.config.limits.maxInputTokens) {
      throw contextExceeded(promptTokens, null, this.config.limits.maxInputTokens, 'The server accepts at most');
    }
    if (promptTokens + (requestedOutput ?? 0) > model.contextWindow) {
      throw contextExceeded(promptTokens, requestedOutput, model.contextWindow, "This model's maximum context length is");
    }
  }

  async runBlocking(call: PreparedCall, signal: AbortSignal): Promise<CallOutcome> {
    const start = performance.now();
    try {
      const answer = await this.gateway.complete(call.model, call.body, signal);
      const completion = normaliseCompletion(answer.completion, call.responseModel);
      const message = completion.choices[0]?.message;
      const text = typeof message?.content === 'string' ? message.content : '';
      const toolCalls = message?.tool_calls ?? null;
      const reported = this.upstreamUsage(call, answer, completion.usage);
      const usage = reported ?? (await this.estimate(call, completionText(completion)));
      // The client sees the figures that were metered, never an upstream's unusable ones.
      if (!reported) completion.usage = usageObject(usage);
      const latencyMs = performance.now() - start;
      return {
        status: 'ok',
        answered: answer,
        usage,
        estimated: !reported,
        text,
        toolCalls,
        finishReason: completion.choices[0]?.finish_reason ?? null,
        latencyMs,
        ttftMs: latencyMs,
        error: null,
        completion,
      };
    } catch (err) {
      return this.failed(call, err, start, '');
    }
  }

  /** An SSE sink on an HTTP reply, pinging at the configured interval. */
  sse(reply: FastifyReply, headers: Record<string, string> = {}): SseWriter {
    return new SseWriter(reply, { headers, pingIntervalMs: this.config.upstream.pingIntervalMs });
  }

  /** Opens the upstream stream and relays it; the caller writes its last frame and ends. */
  async runStreaming(call: PreparedCall, writer: ChunkSink, signal: AbortSignal): Promise<StreamRun> {
    const start = performance.now();
    let opened;
    try {
      opened = await this.gateway.openStream(call.model, call.body, signal);
    } catch (err) {
      return { outcome: await this.failed(call, err, start, ''), writer: null, chunkId: '', created: 0 };
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
    const run = { writer, chunkId: acc.id, created: acc.created };
    const answerText = acc.text + acc.otherText + (acc.toolCalls() ? JSON.stringify(acc.toolCalls()) : '');
    if (writer.clientGone || (failure instanceof UpstreamFailure && failure.kind === 'aborted')) {
      await opened.cancel();
      const usage = await this.estimate(call, answerText);
      return { ...run, outcome: { ...base, status: 'aborted', usage, estimated: true, error: null } };
    }
    // A stream that ends without saying why it ended (no finish_reason) was cut short upstream.
    const error = failure
      ? failure instanceof DomainError
        ? failure
        : new DomainError('upstream_error', 'The upstream stream failed.')
      : acc.finishReason === null
        ? new DomainError('upstream_error', `The upstream provider ${opened.provider} ended the stream of ${call.responseModel} before the answer was complete.`, { code: 'upstream_incomplete' })
        : null;
    if (failure) await opened.cancel();
    if (error) {
      const http = toHttpError(error);
      await writer.fail(http.body, http.status);
    }
    const reported = this.upstreamUsage(call, opened, acc.usage);
    const usage = reported ?? (await this.estimate(call, answerText));
    const status = !error ? 'ok' : failure ? 'error' : 'incomplete';
    return { ...run, outcome: { ...base, status, usage, estimated: !reported, error } };
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

  private async failed(call: PreparedCall, err: unknown, start: number, text: string): Promise<CallOutcome> {
    const latencyMs = performance.now() - start;
    const aborted = err instanceof UpstreamFailure && err.kind === 'aborted';
    const sent = !(aborted && err.details.code === NOT_SENT);
    const error = err instanceof DomainError ? err : aborted ? null : new DomainError('upstream_error', 'The upstream call failed.');
    return {
      status: aborted ? 'aborted' : 'error',
      answered: null,
      // An abandoned call may already have been billed for its prompt; a refused or unsent one was not.
      usage: aborted && sent ? await this.estimate(call, text) : NO_TOKENS,
      estimated: aborted && sent,
      text,
      toolCalls: null,
      finishReason: null,
      latencyMs,
      ttftMs: null,
      error,
      completion: null,
    };
  }

  /**
   * The upstream's usage when it is believable: integers, none negative, the prompt within the
   * model's window and the answer within what the call allowed. Otherwise null (and a warning),
   * and the call is metered at our own count.
   */
  private upstreamUsage(call: PreparedCall, answered: Answered, raw: unknown): TokenUsage | null {
    if (raw === undefined || raw === null) return null;
    const bounds: UsageBounds = { maxPromptTokens: Math.max(answered.model.contextWindow, call.promptTokens), maxCompletionTokens: call.maxOutputTokens };
    const usage = readUsage(raw, bounds);
    if (!usage) this.logger.warn({ provider: answered.provider, model: answered.upstreamModel, bounds }, 'upstream reported unusable token usage; metered at our own count');
    return usage;
  }

  /** Our own count, within what the call allowed (our tokenizer may count more than the upstream's). */
  private async estimate(call: PreparedCall, answerText: string): Promise<TokenUsage> {
    const completion = Math.min(await this.tokens.countText(answerText), call.maxOutputTokens);
    return { promptTokens: call.promptTokens, completionTokens: completion, cachedTokens: 0, reasoningTokens: 0 };
  }
}

/** Everything the answer said, for counting it when the upstream did not: texts and tool calls of every choice. */
function completionText(completion: ChatCompletion): string {
  let out = '';
  for (const choice of completion.choices) {
    const message = choice.message;
    if (typeof message?.content === 'string') out += message.content;
    if (message?.tool_calls) out += JSON.stringify(message.tool_calls);
  }
  return out;
}

/** Collects what a stream says (text, tool calls, usage) and rewrites chunks for the client. */
class StreamAccumulator {
  text = '';
  finishReason: string | null = null;
  /** The usage object the upstream sent, unchecked. */
  usage: unknown = null;
  /** The text of the choices after the first (n > 1). */
  otherText = '';
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
    if (chunk.usage) this.usage = chunk.usage;
    if (!chunk.choices?.length) return null;
    for (const choice of chunk.choices) {
      if (choice.index !== 0 && choice.index !== undefined) {
        // Other choices (n > 1) are relayed as they come; only their size matters here.
        if (typeof choice.delta?.content === 'string') this.otherText += choice.delta.content;
        continue;
      }
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
