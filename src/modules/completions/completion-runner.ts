import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import type { ChunkSink } from '../../common/streaming/chunk-sink.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequestBody, ToolCall } from '../../llm/chat-types.js';
import { LlmGateway, type Answered } from '../../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import type { ResolvedModel } from '../../llm/model-catalog.js';
import type { Persona } from '../../llm/personas.js';
import { readUsage, type TokenUsage, type UsageBounds } from '../../llm/pricing.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { unanswered } from '../../metering/billing.js';
import type { CallOutcome, CallPlan } from '../../metering/call.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { completionText, normaliseCompletion, usageObject } from './completion-shapes.js';
import { StreamAccumulator } from './stream-accumulator.js';

/** A chat call ready for the upstream: model resolved, persona applied, tokens counted. */
export interface PreparedCall extends CallPlan {
  body: ChatRequestBody;
  /** The client asked for the usage chunk. */
  includeUsage: boolean;
  /**
   * False when promptTokens is an upper bound (promptCeiling), not a count: admission holds it;
   * what is billed without the upstream's usage is counted (exactPrompt).
   */
  promptCounted: boolean;
  /** What parts the counter cannot see cost at most (inline documents), within promptTokens. */
  extraTokens: number;
}

/** What a chat call did: its metered outcome, and what the answer said. */
export interface ChatRun {
  outcome: CallOutcome;
  text: string;
  toolCalls: ToolCall[] | null;
  finishReason: string | null;
  /** The whole answer of a blocking call that succeeded. */
  completion: ChatCompletion | null;
  /** Streams: whether the sink was opened (the client has a 200 and chunks). */
  streamed: boolean;
  /** Streams: the id and time the relayed chunks carried. */
  chunkId: string;
  created: number;
}

/**
 * Runs one chat call against the gateway and reports what happened, success or not, so that the
 * caller can meter every call. Streaming: the sink is opened only once the first chunk is in
 * hand; afterwards a failure becomes an in-band error, and a client that leaves aborts the
 * upstream call. Knows no transport: it writes to a ChunkSink.
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
    const extraTokens = options.extraTokens ?? 0;
    let promptTokens = options.promptTokens;
    let promptCounted = true;
    if (promptTokens === undefined) {
      // What cannot fit whatever its tokens is refused from its size alone, before any counting.
      this.assertFits(TokenCounter.promptFloor(upstream.messages), requestedOutput, model);
      // A call whose upper bound fits whole (the answer's room unchanged by the prompt) is admitted
      // at that bound, uncounted: settlement takes the upstream's usage. Only one that may not fit is counted.
      const ceiling = TokenCounter.promptCeiling(upstream.messages, upstream.tools, model.imageTokens) + extraTokens;
      if (ceiling <= this.config.limits.maxInputTokens && ceiling + (requestedOutput ?? model.maxOutputTokens) <= model.contextWindow) {
        promptTokens = ceiling;
        promptCounted = false;
      } else {
        promptTokens = (await this.tokens.countPrompt(upstream.messages, upstream.tools, model.imageTokens)) + extraTokens;
      }
    }
    this.assertFits(promptTokens, requestedOutput, model);
    return {
      model,
      body: upstream,
      responseModel: options.responseModel ?? model.id,
      promptTokens,
      ...this.outputRoom(model, upstream, promptTokens),
      includeUsage: body.stream_options?.include_usage === true,
      promptCounted,
      extraTokens,
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

  async runBlocking(call: PreparedCall, signal: AbortSignal): Promise<ChatRun> {
    const start = performance.now();
    let answer;
    try {
      answer = await this.gateway.complete(call.model, call.body, signal);
    } catch (err) {
      return this.failed(call, err, start);
    }
    const completion = normaliseCompletion(answer.completion, call.responseModel);
    const message = completion.choices[0]?.message;
    const reported = this.upstreamUsage(call, answer, completion.usage);
    const usage = reported ?? (await this.estimate(call, completionText(completion)));
    // The client sees the figures that were metered, never an upstream's unusable ones.
    if (!reported) completion.usage = usageObject(usage);
    const latencyMs = performance.now() - start;
    return {
      outcome: { status: 'ok', answered: answer, usage, estimated: !reported, latencyMs, ttftMs: latencyMs, error: null },
      text: typeof message?.content === 'string' ? message.content : '',
      toolCalls: message?.tool_calls ?? null,
      finishReason: completion.choices[0]?.finish_reason ?? null,
      completion,
      streamed: false,
      chunkId: completion.id,
      created: completion.created,
    };
  }

  /**
   * Opens the upstream stream and relays it to the sink (opened with `headers` on the first
   * chunk). The caller writes its last frame and ends the sink.
   */
  async runStreaming(call: PreparedCall, sink: ChunkSink, signal: AbortSignal, headers: Record<string, string>): Promise<ChatRun> {
    const start = performance.now();
    let opened;
    try {
      opened = await this.gateway.openStream(call.model, call.body, signal);
    } catch (err) {
      return this.failed(call, err, start);
    }
    const ttftMs = performance.now() - start;
    sink.open(headers);
    this.metrics.activeStreams.inc();
    sink.onClose(() => this.metrics.activeStreams.dec());
    sink.onClientGone(() => void opened.cancel());

    const acc = new StreamAccumulator(call.responseModel);
    let failure: unknown = null;
    try {
      let chunk: ChatChunk | undefined = opened.first;
      while (chunk) {
        const forward = acc.take(chunk);
        if (forward) await sink.send(forward);
        if (sink.clientGone) break;
        const next: IteratorResult<ChatChunk> = await opened.next();
        chunk = next.done ? undefined : next.value;
      }
    } catch (err) {
      failure = err;
    }

    const latencyMs = performance.now() - start;
    const answered: Answered = opened;
    const run = {
      text: acc.text,
      toolCalls: acc.toolCalls(),
      finishReason: acc.finishReason,
      completion: null,
      streamed: true,
      chunkId: acc.id,
      created: acc.created,
    };
    const answerText = acc.text + acc.otherText + (run.toolCalls ? JSON.stringify(run.toolCalls) : '');
    if (sink.clientGone || (failure instanceof UpstreamFailure && failure.kind === 'aborted')) {
      await opened.cancel();
      const usage = await this.estimate(call, answerText);
      return { ...run, outcome: { status: 'aborted', answered, usage, estimated: true, latencyMs, ttftMs, error: null } };
    }
    // A stream that ends without saying why it ended (no finish_reason) was cut short upstream.
    const error = failure
      ? failure instanceof DomainError
        ? failure
        : new DomainError('upstream_error', 'The upstream stream failed.')
      : acc.finishReason === null
        ? new DomainError(
            'upstream_error',
            `The upstream provider ${opened.provider} ended the stream of ${call.responseModel} before the answer was complete.`,
            { code: 'upstream_incomplete' },
          )
        : null;
    if (failure) await opened.cancel();
    if (error) await sink.fail(error);
    const reported = this.upstreamUsage(call, opened, acc.usage);
    const usage = reported ?? (await this.estimate(call, answerText));
    const status = !error ? 'ok' : failure ? 'error' : 'incomplete';
    return { ...run, outcome: { status, answered, usage, estimated: !reported, latencyMs, ttftMs, error } };
  }

  /** A usage-only chunk in OpenAI's shape (choices: []), for the stream's last frame. */
  usageChunk(run: ChatRun, call: PreparedCall): ChatChunk {
    return {
      id: run.chunkId,
      object: 'chat.completion.chunk',
      created: run.created,
      model: call.responseModel,
      choices: [],
      usage: usageObject(run.outcome.usage),
    };
  }

  private async failed(call: PreparedCall, err: unknown, start: number): Promise<ChatRun> {
    const { status, usage: billed, estimated, error } = unanswered(call, err);
    // Billed its prompt (abandoned after it was sent): our count, not the bound it was admitted at.
    const usage = billed.promptTokens && !call.promptCounted ? { ...billed, promptTokens: await this.exactPrompt(call) } : billed;
    return {
      outcome: { status, answered: null, usage, estimated, latencyMs: performance.now() - start, ttftMs: null, error },
      text: '',
      toolCalls: null,
      finishReason: null,
      completion: null,
      streamed: false,
      chunkId: '',
      created: 0,
    };
  }

  /**
   * The upstream's usage when it is believable: integers, none negative, the prompt within the
   * model's window and the answer within what the call allowed. Otherwise null (and a warning),
   * and the call is metered at our own count.
   */
  private upstreamUsage(call: PreparedCall, answered: Answered, raw: unknown): TokenUsage | null {
    if (raw === undefined || raw === null) return null;
    const bounds: UsageBounds = {
      maxPromptTokens: Math.max(answered.model.contextWindow, call.promptTokens),
      maxCompletionTokens: call.maxOutputTokens,
    };
    const usage = readUsage(raw, bounds);
    if (!usage)
      this.logger.warn(
        { provider: answered.provider, model: answered.upstreamModel, bounds },
        'upstream reported unusable token usage; metered at our own count',
      );
    return usage;
  }

  /** Our own count, within what the call allowed (our tokenizer may count more than the upstream's). */
  private async estimate(call: PreparedCall, answerText: string): Promise<TokenUsage> {
    const [prompt, answer] = await Promise.all([this.exactPrompt(call), this.tokens.countText(answerText)]);
    return { promptTokens: prompt, completionTokens: Math.min(answer, call.maxOutputTokens), cachedTokens: 0, reasoningTokens: 0 };
  }

  /** The call's prompt as counted (the figure admitted when it was counted, else counted now). */
  /**
   * The call with its prompt counted exactly. Admission asks for it when the call, held at its
   * prompt's upper bound (3–6× the tokens of prose), was refused by a limit its real count may fit.
   */
  async counted(call: PreparedCall): Promise<PreparedCall> {
    if (call.promptCounted) return call;
    const promptTokens = await this.exactPrompt(call);
    return { ...call, promptTokens, promptCounted: true, ...this.outputRoom(call.model, call.body, promptTokens) };
  }

  /** Each of n choices may be as long as max_tokens: the worst case is per choice times n. */
  private outputRoom(
    model: ResolvedModel,
    body: ChatRequestBody,
    promptTokens: number,
  ): Pick<PreparedCall, 'maxOutputTokens' | 'reservedOutputTokens'> {
    const requestedOutput = body.max_completion_tokens ?? body.max_tokens ?? null;
    const choices = Math.max(1, body.n ?? 1);
    const room = Math.min(model.maxOutputTokens, model.contextWindow - promptTokens);
    const perChoice = Math.min(requestedOutput ?? model.maxOutputTokens, room);
    const reservedPerChoice = requestedOutput === null ? Math.min(this.config.limits.rate.defaultOutputTokens, room) : perChoice;
    return { maxOutputTokens: perChoice * choices, reservedOutputTokens: reservedPerChoice * choices };
  }

  private async exactPrompt(call: PreparedCall): Promise<number> {
    if (call.promptCounted) return call.promptTokens;
    return (await this.tokens.countPrompt(call.body.messages, call.body.tools, call.model.imageTokens)) + call.extraTokens;
  }
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
