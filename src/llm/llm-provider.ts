import type { DomainError } from '../common/errors/domain-error.js';
import type { ChatChunk, ChatCompletion, ChatRequestBody } from './chat-types.js';

/** How an upstream call failed, before it is turned into what the client sees. */
export type UpstreamFailureKind = 'connection' | 'timeout' | 'http' | 'bad_response' | 'aborted' | 'refused';

export interface UpstreamFailureDetails {
  status?: number;
  retryAfterMs?: number;
  code?: string | null;
  type?: string;
  param?: string | null;
  /**
   * The message of the upstream's own error object. Shown to the client only for a 4xx, where the
   * client's request was at fault; otherwise it may hold internal detail and goes to the log only.
   */
  upstreamMessage?: string;
  /** The start of an error body that was not an error object (an HTML page, plain text): log only. */
  upstreamBody?: string;
  /** kind `refused`: a provider in this process refused the call (a local model unavailable, its queue full) with this error, shown as is. */
  refusal?: DomainError;
  /** kind `refused`: the model cannot take the call (unavailable, busy), so its fallbacks may; never retried. */
  fallback?: boolean;
}

/** How an upstream call failed. `message` is in our words and safe to show; see `details.upstreamMessage`. */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure';

  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    readonly details: UpstreamFailureDetails = {},
  ) {
    super(message);
  }

  /** Connection errors, timeouts, 408, 429 and 5xx may succeed on another try. */
  get retryable(): boolean {
    if (this.kind === 'connection' || this.kind === 'timeout') return true;
    if (this.kind !== 'http' || this.details.status === undefined) return false;
    const status = this.details.status;
    return status === 408 || status === 429 || status >= 500;
  }
}

/** What an embedding call sends upstream: OpenAI's request, floats asked for by the provider. */
export interface EmbeddingRequest {
  model: string;
  /** One or more texts, or token arrays. */
  input: string[] | number[][];
  dimensions?: number;
  user?: string;
}

/** Vectors in input order, and the upstream's token count when it gave one. */
export interface EmbeddingResult {
  vectors: number[][];
  promptTokens: number | null;
}

/** OpenAI's image generation request, passed upstream as given (with the upstream's model id). */
export interface ImageRequest {
  model: string;
  prompt: string;
  n?: number;
  size?: string;
  response_format?: 'url' | 'b64_json';
  [field: string]: unknown;
}

/** The upstream's answer as it came (data, created, size…), and its token usage when it gave one. */
export interface ImageResult {
  response: { created: number; data: Array<{ b64_json?: string; url?: string; revised_prompt?: string }>; [field: string]: unknown };
  usage: { inputTokens: number; outputTokens: number } | null;
}

/** A streamed answer whose response has started; chunks come from next(). */
export interface ChunkSource {
  next(): Promise<IteratorResult<ChatChunk>>;
  /** Stops reading and releases the upstream connection. */
  cancel(): Promise<void>;
}

/**
 * One upstream vendor. Implementations translate to and from the vendor's wire format and report
 * failures as UpstreamFailure; retries, fallbacks and timeouts are the gateway's job.
 */
export abstract class LlmProvider {
  abstract readonly name: string;
  abstract complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion>;
  /** Resolves once the upstream accepted the request (status 200); chunks are then pulled. */
  abstract stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource>;
  abstract embed(body: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult>;
  abstract generateImage(body: ImageRequest, signal: AbortSignal): Promise<ImageResult>;
}
