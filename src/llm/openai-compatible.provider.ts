import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ProviderSettings } from '../config/app-config.js';
import type { ChatChunk, ChatCompletion, ChatRequestBody } from './chat-types.js';
import {
  LlmProvider,
  UpstreamFailure,
  type ChunkSource,
  type UpstreamFailureDetails,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ImageRequest,
  type ImageResult,
} from './llm-provider.js';

export interface OpenAICompatibleOptions {
  timeoutMs: number;
  /** The transport the SDK sends requests with (see upstream-fetch.ts). */
  fetch?: typeof globalThis.fetch;
}

/**
 * Any OpenAI-compatible upstream (OpenAI, OpenRouter, Ollama's /v1, custom base URLs) through the
 * official SDK. The SDK's own retries are off: the gateway retries with its own policy, so that
 * nothing is retried after the first streamed byte and fallbacks see every failure.
 */
export class OpenAICompatibleProvider extends LlmProvider {
  readonly name: string;
  private readonly client: OpenAI;

  constructor(settings: ProviderSettings, options: OpenAICompatibleOptions) {
    super();
    this.name = settings.name;
    this.client = new OpenAI({
      apiKey: settings.apiKey ?? 'unused',
      baseURL: settings.baseUrl!,
      maxRetries: 0,
      timeout: options.timeoutMs,
      defaultHeaders: settings.headers,
      fetch: options.fetch,
      // Every failure reaches the gateway as an error, which it logs through the structured logger
      // (upstream text at warn); the SDK's own console lines (and OPENAI_LOG) would bypass that.
      logLevel: 'off',
      // The SDK refuses to run where it thinks it is a browser; this is a server.
      dangerouslyAllowBrowser: false,
    });
  }

  async complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion> {
    try {
      const result = (await this.client.chat.completions.create({ ...body, stream: false } as never, { signal })) as unknown;
      if (!isCompletion(result)) throw new UpstreamFailure('bad_response', 'The upstream answered with something that is not a chat completion.');
      return result;
    } catch (err) {
      throw classifyUpstreamError(err, signal);
    }
  }

  async stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource> {
    let iterator: AsyncIterator<ChatChunk>;
    try {
      const stream = (await this.client.chat.completions.create({ ...body, stream: true } as never, {
        signal,
      })) as unknown as AsyncIterable<ChatChunk>;
      iterator = stream[Symbol.asyncIterator]();
    } catch (err) {
      throw classifyUpstreamError(err, signal);
    }
    return {
      next: async () => {
        try {
          const result = await iterator.next();
          if (!result.done && !isChunk(result.value)) {
            throw new UpstreamFailure('bad_response', 'The upstream streamed something that is not a chat completion chunk.');
          }
          return result;
        } catch (err) {
          throw classifyUpstreamError(err, signal);
        }
      },
      cancel: async () => {
        await iterator.return?.().catch(() => undefined);
      },
    };
  }

  /** The SDK asks for base64 and decodes it (a quarter of the bytes of JSON floats on the wire). */
  async embed(body: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    let result: unknown;
    try {
      result = await this.client.embeddings.create(body as never, { signal });
    } catch (err) {
      throw classifyUpstreamError(err, signal);
    }
    const data = (result as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length !== body.input.length) {
      throw new UpstreamFailure('bad_response', 'The upstream answered with something that is not one embedding per input.');
    }
    const vectors = new Array<number[]>(data.length);
    for (const item of data as Array<{ index?: unknown; embedding?: unknown }>) {
      const index = item?.index;
      if (typeof index !== 'number' || !Array.isArray(item.embedding) || vectors[index] || index < 0 || index >= data.length) {
        throw new UpstreamFailure('bad_response', 'The upstream answered with a malformed embedding.');
      }
      vectors[index] = item.embedding as number[];
    }
    const tokens = (result as { usage?: { prompt_tokens?: unknown } }).usage?.prompt_tokens;
    return { vectors, promptTokens: typeof tokens === 'number' ? tokens : null };
  }

  async generateImage(body: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    let result: unknown;
    try {
      result = await this.client.images.generate(body as never, { signal });
    } catch (err) {
      throw classifyUpstreamError(err, signal);
    }
    const data = (result as { data?: unknown })?.data;
    const images = data as Array<{ b64_json?: unknown; url?: unknown } | null>;
    if (!Array.isArray(data) || images.some((d) => !d || typeof d !== 'object' || (typeof d.b64_json !== 'string' && typeof d.url !== 'string'))) {
      throw new UpstreamFailure('bad_response', 'The upstream answered with something that is not a list of images.');
    }
    const usage = (result as { usage?: { input_tokens?: unknown; output_tokens?: unknown } }).usage;
    return {
      response: result as ImageResult['response'],
      usage:
        usage && typeof usage.input_tokens === 'number' && typeof usage.output_tokens === 'number'
          ? { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens }
          : null,
    };
  }
}

function isCompletion(value: unknown): value is ChatCompletion {
  return !!value && typeof value === 'object' && Array.isArray((value as ChatCompletion).choices);
}

function isChunk(value: unknown): value is ChatChunk {
  return !!value && typeof value === 'object' && Array.isArray((value as ChatChunk).choices);
}

/** The SDK's error classes (and anything else) as an UpstreamFailure. */
export function classifyUpstreamError(err: unknown, signal: AbortSignal): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  if (err instanceof APIUserAbortError || (signal.aborted && isAbort(err))) {
    const reason = signal.reason as { kind?: string } | undefined;
    return reason?.kind === 'timeout'
      ? new UpstreamFailure('timeout', 'The upstream did not answer in time.')
      : new UpstreamFailure('aborted', 'The request was aborted.');
  }
  if (err instanceof APIConnectionTimeoutError) return new UpstreamFailure('timeout', 'The upstream did not answer in time.');
  if (err instanceof APIConnectionError) return new UpstreamFailure('connection', 'Could not reach the upstream provider.');
  if (err instanceof APIError && typeof err.status === 'number') {
    const body = (typeof err.error === 'object' && err.error ? err.error : {}) as {
      message?: unknown;
      code?: unknown;
      type?: unknown;
      param?: unknown;
    };
    return new UpstreamFailure('http', `The upstream answered ${err.status}.`, {
      status: err.status,
      // `instanceof` leaves the SDK's type parameters `any`; these are its declared defaults.
      retryAfterMs: retryAfterMs(err.headers as Headers | undefined),
      code: typeof body.code === 'string' ? body.code : null,
      type: typeof body.type === 'string' ? body.type : undefined,
      param: typeof body.param === 'string' ? body.param : null,
      ...upstreamText(err),
    });
  }
  if (err instanceof APIError) {
    // An error object sent inside a 200 stream (`data: {"error": {...}}` or an `error` event).
    return new UpstreamFailure('bad_response', 'The upstream reported an error mid-stream.', upstreamText(err));
  }
  if (err instanceof SyntaxError) return new UpstreamFailure('bad_response', 'The upstream sent malformed JSON.');
  return new UpstreamFailure('connection', 'The upstream connection failed.');
}

/**
 * The upstream's own words: the message of its error object (OpenAI's `{error: {message}}`, or
 * Ollama's `{error: "..."}`), else the SDK's text, which for a non-JSON body quotes the body.
 */
function upstreamText(err: { error?: unknown; message: string }): Pick<UpstreamFailureDetails, 'upstreamMessage' | 'upstreamBody'> {
  const error = err.error as { message?: unknown } | string | undefined;
  const message = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : undefined;
  if (message) return { upstreamMessage: message.slice(0, 2000) };
  return err.message ? { upstreamBody: err.message.slice(0, 500) } : {};
}

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError' || err instanceof APIUserAbortError;
}

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | Record<string, string> | undefined | null): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) =>
    typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : (headers as Record<string, string>)[name];
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && get('retry-after-ms') !== null) return ms;
  const value = get('retry-after');
  if (value == null || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
