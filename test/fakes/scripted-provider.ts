import type { ChatChunk, ChatCompletion, ChatRequestBody } from '../../src/llm/chat-types.js';
import {
  LlmProvider,
  type ChunkSource,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ImageRequest,
  type ImageResult,
  type UpstreamFailure,
} from '../../src/llm/llm-provider.js';
import { classifyUpstreamError } from '../../src/llm/openai-compatible.provider.js';

/** What one call answers: a value, a failure to throw, or nothing until its signal aborts. */
export type Step<T> = { answer: T } | { fail: UpstreamFailure } | 'hang';

export interface ProviderCall {
  method: 'complete' | 'stream';
  body: ChatRequestBody;
  signal: AbortSignal;
}

/**
 * An upstream that answers from a script, one step per call, and records every call. An abort
 * reaches it as it reaches the real provider: the pending promise rejects with what
 * classifyUpstreamError makes of an AbortError under that signal.
 */
export class ScriptedProvider extends LlmProvider {
  readonly calls: ProviderCall[] = [];
  private readonly completions: Array<Step<ChatCompletion>> = [];
  private readonly streams: Array<Step<FakeStream>> = [];

  constructor(readonly name: string) {
    super();
  }

  willComplete(...steps: Array<Step<ChatCompletion>>): this {
    this.completions.push(...steps);
    return this;
  }

  willStream(...steps: Array<Step<FakeStream>>): this {
    this.streams.push(...steps);
    return this;
  }

  complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion> {
    this.calls.push({ method: 'complete', body, signal });
    return this.play(this.completions.shift(), signal);
  }

  async stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource> {
    this.calls.push({ method: 'stream', body, signal });
    const source = await this.play(this.streams.shift(), signal);
    return source.attach(signal);
  }

  embed(_body: EmbeddingRequest, _signal: AbortSignal): Promise<EmbeddingResult> {
    return Promise.reject(new Error(`${this.name}: embeddings are not scripted`));
  }

  generateImage(_body: ImageRequest, _signal: AbortSignal): Promise<ImageResult> {
    return Promise.reject(new Error(`${this.name}: images are not scripted`));
  }

  private play<T>(step: Step<T> | undefined, signal: AbortSignal): Promise<T> {
    if (step === undefined) return Promise.reject(new Error(`${this.name}: call ${this.calls.length} was not scripted`));
    if (step === 'hang') return untilAborted(signal);
    if ('fail' in step) return Promise.reject(step.fail);
    return Promise.resolve(step.answer);
  }
}

/** A stream the test feeds: chunks pushed now or later, an end, or a failure. */
export class FakeStream implements ChunkSource {
  cancelled = false;
  private readonly queue: Array<{ chunk: ChatChunk } | { end: true } | { fail: UpstreamFailure }> = [];
  private waiter: { resolve: (r: IteratorResult<ChatChunk>) => void; reject: (e: unknown) => void } | null = null;
  private signal: AbortSignal | null = null;

  push(...chunks: ChatChunk[]): this {
    for (const chunk of chunks) this.queue.push({ chunk });
    this.deliver();
    return this;
  }

  end(): this {
    this.queue.push({ end: true });
    this.deliver();
    return this;
  }

  fail(failure: UpstreamFailure): this {
    this.queue.push({ fail: failure });
    this.deliver();
    return this;
  }

  /** Bound to the request's signal when the provider hands it out. */
  attach(signal: AbortSignal): this {
    this.signal = signal;
    signal.addEventListener('abort', () => this.deliver(), { once: true });
    return this;
  }

  next(): Promise<IteratorResult<ChatChunk>> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    this.waiter?.resolve({ done: true, value: undefined });
    this.waiter = null;
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.signal?.aborted) {
      this.waiter = null;
      waiter.reject(abortFailure(this.signal));
      return;
    }
    const item = this.queue.shift();
    if (!item) return;
    this.waiter = null;
    if ('chunk' in item) waiter.resolve({ done: false, value: item.chunk });
    else if ('end' in item) waiter.resolve({ done: true, value: undefined });
    else waiter.reject(item.fail);
  }
}

function untilAborted<T>(signal: AbortSignal): Promise<T> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(abortFailure(signal));
    signal.addEventListener('abort', () => reject(abortFailure(signal)), { once: true });
  });
}

function abortFailure(signal: AbortSignal): UpstreamFailure {
  return classifyUpstreamError(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }), signal);
}

/** A chat chunk with one choice. */
export function chunk(content: string | null, extra: { finish_reason?: string | null; id?: string } = {}): ChatChunk {
  return {
    id: extra.id ?? 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'upstream-model',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: extra.finish_reason ?? null }],
  };
}

/** A chat completion answering `text`. */
export function completion(text: string, model = 'upstream-model'): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  };
}
