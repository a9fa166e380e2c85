import { randomBytes } from 'node:crypto';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppConfig } from '../../config/app-config.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequestBody, Usage } from '../chat-types.js';
import { LlmProvider, UpstreamFailure, type ChunkSource, type EmbeddingResult, type ImageResult } from '../llm-provider.js';
import type { LocalEvent, LocalGeneration, LocalMessage, LocalModels, LocalSampling } from './local-models.js';
import { LOCAL_PROVIDER, type LocalModelSpec } from './local-specs.js';

/**
 * Models served in this process from GGUF files through llama.cpp (node-llama-cpp). The model's
 * own chat template renders the messages and its own tokenizer counts them, so the usage it
 * reports is exact. OpenAI's sampling fields apply, with llama.cpp's `top_k` and `repeat_penalty`
 * beside them; what a request leaves out comes from LLM_TEMP, LLM_TOP_P, LLM_TOP_K and LLM_REPEAT_PENALTY.
 */
export class LocalProvider extends LlmProvider {
  readonly name = LOCAL_PROVIDER;
  private readonly specs: Map<string, LocalModelSpec>;

  constructor(
    private readonly models: LocalModels,
    specs: readonly LocalModelSpec[],
    private readonly config: AppConfig,
  ) {
    super();
    this.specs = new Map(specs.map((s) => [s.id, s]));
  }

  async complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion> {
    const generation = await this.start(body, signal);
    let text = '';
    for (;;) {
      const event = await next(generation, signal);
      if (event.type === 'text') text += event.text;
      else
        return {
          id: completionId(),
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: clean(text), refusal: null }, logprobs: null, finish_reason: finishReason(event) },
          ],
          usage: usage(event),
        };
    }
  }

  async stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource> {
    const generation = await this.start(body, signal);
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: ChatChunk['choices'][0]['delta'], finish: string | null): ChatChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    const pending: ChatChunk[] = [chunk({ role: 'assistant', content: '' }, null)];
    let ended = false;
    return {
      next: async () => {
        while (!pending.length) {
          if (ended) return { done: true, value: undefined };
          const event = await next(generation, signal);
          if (event.type === 'text') {
            const text = clean(event.text);
            if (text) pending.push(chunk({ content: text }, null));
          } else {
            ended = true;
            pending.push(chunk({}, finishReason(event)));
            if (body.stream_options?.include_usage) pending.push({ ...chunk({}, null), choices: [], usage: usage(event) });
          }
        }
        return { done: false, value: pending.shift()! };
      },
      cancel: async () => {
        ended = true;
        pending.length = 0;
        generation.cancel();
      },
    };
  }

  async embed(): Promise<EmbeddingResult> {
    throw unsupported('embeddings');
  }

  async generateImage(): Promise<ImageResult> {
    throw unsupported('images');
  }

  private async start(body: ChatRequestBody, signal: AbortSignal): Promise<LocalGeneration> {
    if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
    const spec = this.specs.get(body.model);
    if ((body.n ?? 1) !== 1) throw invalid('A local model answers one choice per request: n must be 1.', 'n');
    if (Array.isArray(body.tools) && body.tools.length) throw invalid('Local models do not call tools: send the request without `tools`.', 'tools');
    const messages = toLocalMessages(body.messages);
    return this.models.generate(body.model, messages, this.sampling(body, spec), signal);
  }

  private sampling(body: ChatRequestBody, spec: LocalModelSpec | undefined): LocalSampling {
    const defaults = this.config.local.sampling;
    const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
    const stop = body.stop;
    return {
      maxTokens: num(body.max_completion_tokens) ?? num(body.max_tokens),
      maxOutputTokens: spec?.maxOutputTokens ?? 4_096,
      safetyMargin: this.config.local.safetyMargin,
      temperature: num(body.temperature) ?? defaults.temperature,
      topP: num(body.top_p) ?? defaults.topP,
      topK: num(body.top_k) ?? defaults.topK,
      seed: num(body.seed),
      repeatPenalty: num(body.repeat_penalty) ?? defaults.repeatPenalty,
      frequencyPenalty: num(body.frequency_penalty) ?? 0,
      presencePenalty: num(body.presence_penalty) ?? 0,
      logitBias: logitBias(body.logit_bias),
      stop: (typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop : []).filter((s): s is string => typeof s === 'string' && s !== ''),
    };
  }
}

/** The next event, or an abort failure once the client has gone (the generation is cancelled by the signal's listener). */
async function next(generation: LocalGeneration, signal: AbortSignal): Promise<LocalEvent> {
  const event = await generation.next();
  if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
  return event;
}

/** OpenAI's messages as a chat template sees them: text only (local models read no images), tool results as user turns. */
export function toLocalMessages(messages: readonly ChatMessage[]): LocalMessage[] {
  return messages.map((m) => {
    const text = textOf(m.content);
    if (m.role === 'system' || m.role === 'developer') return { role: 'system', text };
    if (m.role === 'assistant') return { role: 'assistant', text };
    if (m.role === 'tool' || m.role === 'function') return { role: 'user', text: `Tool result${m.name ? ` (${m.name})` : ''}:\n${text}` };
    return { role: 'user', text };
  });
}

function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
    .filter(Boolean)
    .join('\n');
}

function logitBias(value: unknown): Record<string, number> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

function usage(event: Extract<LocalEvent, { type: 'done' }>): Usage {
  return { prompt_tokens: event.promptTokens, completion_tokens: event.completionTokens, total_tokens: event.promptTokens + event.completionTokens };
}

function finishReason(event: Extract<LocalEvent, { type: 'done' }>): string {
  return event.finishReason === 'length' ? 'length' : 'stop';
}

/** A model may emit the NUL byte as a token; no client wants it, and PostgreSQL cannot store it. */
function clean(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '') : text;
}

function invalid(message: string, param: string): UpstreamFailure {
  return new UpstreamFailure('refused', message, { refusal: new DomainError('invalid', message, { param }) });
}

function unsupported(what: string): UpstreamFailure {
  const message = `Local models serve chat completions, not ${what}.`;
  return new UpstreamFailure('refused', message, { refusal: new DomainError('invalid', message, { param: 'model', code: 'model_not_supported' }) });
}

function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}
