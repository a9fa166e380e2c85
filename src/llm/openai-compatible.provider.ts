import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Dispatcher } from 'undici';
import { VERSION as OPENAI_VERSION } from 'openai/version';
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
import { SseDecoder, type ServerSentEvent } from './sse-decoder.js';
import { upstreamPost } from './upstream-fetch.js';

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
  private readonly chatUrl: string;
  private readonly chatHeaders: Record<string, string>;

  constructor(settings: ProviderSettings, options: OpenAICompatibleOptions) {
    super();
    this.name = settings.name;
    this.chatUrl = `${settings.baseUrl!.replace(/\/+$/, '')}/chat/completions`;
    this.chatHeaders = {
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      authorization: `Bearer ${settings.apiKey ?? 'unused'}`,
      ...lowerCased(settings.headers),
    };
    this.client = new OpenAI({
      apiKey: settings.apiKey ?? 'unused',
      baseURL: settings.baseUrl!,
      maxRetries: 0,
      timeout: options.timeoutMs,
      defaultHeaders: settings.headers,
      // Only the provider's settings shape what is sent (as on the chat path): not OPENAI_ORG_ID
      // or OPENAI_PROJECT_ID from the server's environment.
      organization: null,
      project: null,
      fetch: options.fetch,
      // Every failure reaches the gateway as an error, which it logs through the structured logger
      // (upstream text at warn); the SDK's own console lines (and OPENAI_LOG) would bypass that.
      logLevel: 'off',
      // The SDK refuses to run where it thinks it is a browser; this is a server.
      dangerouslyAllowBrowser: false,
    });
  }

  /** Chat completions skip the SDK's request machinery (see postChat); its error classes still describe failures. */
  async complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion> {
    try {
      const res = await this.postChat({ ...body, stream: false }, signal);
      const result = await res.body.json();
      if (!isCompletion(result)) throw new UpstreamFailure('bad_response', 'The upstream answered with something that is not a chat completion.');
      return result;
    } catch (err) {
      throw classifyUpstreamError(asAbort(err, signal), signal);
    }
  }

  async stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.postChat({ ...body, stream: true }, signal);
    } catch (err) {
      throw classifyUpstreamError(asAbort(err, signal), signal);
    }
    return new SseChunkSource(res, signal);
  }

  /**
   * POST /chat/completions with the headers the SDK would send (bearer key, the provider's own
   * headers) on the shared undici pool; a non-2xx answer becomes the SDK's APIError for its
   * status, as the SDK itself would raise it.
   */
  private async postChat(body: ChatRequestBody, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const res = await upstreamPost(this.chatUrl, this.chatHeaders, JSON.stringify(body), signal);
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text().catch((err: Error) => err.message);
    const json = safeJson(text);
    const error = json && typeof json === 'object' && (json as { error?: unknown }).error == null ? { error: json } : json;
    throw APIError.generate(res.statusCode, error as object | undefined, json ? undefined : text, headersOf(res.headers));
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

/**
 * The chunks of a 200 text/event-stream answer, decoded as the SDK's Stream does: `[DONE]` ends
 * it, an `error` event or a payload with an `error` field is the SDK's APIError, JSON that does
 * not parse is a SyntaxError (a bad response).
 */
class SseChunkSource implements ChunkSource {
  private readonly decoder = new SseDecoder();
  private readonly bytes: AsyncIterator<Buffer>;
  private readonly queue: ServerSentEvent[] = [];
  private done = false;

  constructor(
    private readonly res: Dispatcher.ResponseData,
    private readonly signal: AbortSignal,
  ) {
    this.bytes = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  async next(): Promise<IteratorResult<ChatChunk>> {
    try {
      while (!this.done) {
        const sse = this.queue.shift();
        if (sse) {
          if (sse.data === '[DONE]') return this.finish();
          return { done: false, value: this.chunkOf(sse) };
        }
        const read = await this.bytes.next();
        this.queue.push(...(read.done ? this.decoder.end() : this.decoder.push(read.value)));
        if (read.done && !this.queue.length) return this.finish();
      }
      return { done: true, value: undefined };
    } catch (err) {
      this.done = true;
      this.res.body.destroy();
      throw classifyUpstreamError(asAbort(err, this.signal), this.signal);
    }
  }

  async cancel(): Promise<void> {
    this.done = true;
    this.res.body.destroy();
  }

  private chunkOf(sse: ServerSentEvent): ChatChunk {
    let data: { error?: unknown; message?: string } | null;
    try {
      data = JSON.parse(sse.data) as typeof data;
    } catch {
      throw new SyntaxError('Error reading response: malformed server-sent event JSON.');
    }
    if (sse.event === 'error') throw new APIError(undefined, data?.error ?? data ?? undefined, undefined, headersOf(this.res.headers));
    if (data && data.error) throw new APIError(undefined, data.error, undefined, headersOf(this.res.headers));
    if (!isChunk(data)) throw new UpstreamFailure('bad_response', 'The upstream streamed something that is not a chat completion chunk.');
    return data;
  }

  /** Whatever follows `[DONE]` is read and dropped, so that the connection goes back to the pool. */
  private finish(): IteratorResult<ChatChunk> {
    this.done = true;
    this.res.body.resume();
    return { done: true, value: undefined };
  }
}

const USER_AGENT = `colloquy (openai-node ${OPENAI_VERSION})`;

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function headersOf(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An abort of ours (the client left, a timeout) whatever undici rejected with (the signal's reason, a RequestAbortedError). */
function asAbort(err: unknown, signal: AbortSignal): unknown {
  return signal.aborted && !(err instanceof UpstreamFailure) && !(err instanceof APIError) ? new APIUserAbortError() : err;
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
