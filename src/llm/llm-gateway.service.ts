import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { AppLogger } from '../common/logging/logger.js';
import { InjectLogger } from '../common/logging/logger.token.js';
import type { ChatChunk, ChatCompletion, ChatRequestBody } from './chat-types.js';
import {
  UpstreamFailure,
  type ChunkSource,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ImageRequest,
  type ImageResult,
} from './llm-provider.js';
import { ModelCatalog, type ResolvedModel } from './model-catalog.js';
import { ProviderRegistry } from './provider-registry.js';
import { backoffMs, sleep } from './retry-policy.js';
import { upstreamToDomain } from './upstream-errors.js';

/** Which upstream finally answered. */
export interface Answered {
  provider: string;
  upstreamModel: string;
  /** The catalog model that answered (differs from the requested one after a fallback). */
  model: ResolvedModel;
}

export interface CompletedCall extends Answered {
  completion: ChatCompletion;
}

export interface EmbeddedCall extends Answered, EmbeddingResult {}
export interface GeneratedImages extends Answered, ImageResult {}

/** A stream whose first chunk has arrived: from here on, failures are reported in-band. */
export interface OpenedStream extends Answered {
  first: ChatChunk;
  /** The next chunk; rejects with a DomainError (idle timeout, upstream failure). */
  next(): Promise<IteratorResult<ChatChunk>>;
  cancel(): Promise<void>;
}

type AbortReason = { kind: 'timeout' } | { kind: 'client' };

/** The code of an abort that came before any upstream was called. */
export const NOT_SENT = 'not_sent';

/**
 * Calls upstreams with the retry and fallback policy: connection errors, timeouts, 408, 429 and
 * 5xx are retried with backoff (honouring retry-after) up to UPSTREAM_MAX_RETRIES times, then the
 * model's fallbacks are tried in order; nothing is retried once a stream has yielded a chunk.
 * Each attempt is bounded by UPSTREAM_TIMEOUT_MS; a stream that goes silent for
 * UPSTREAM_IDLE_TIMEOUT_MS is cut. A client disconnect aborts the call at once.
 */
@Injectable()
export class LlmGateway {
  constructor(
    private readonly providers: ProviderRegistry,
    private readonly catalog: ModelCatalog,
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  async complete(model: ResolvedModel, body: ChatRequestBody, signal: AbortSignal): Promise<CompletedCall> {
    return this.withPolicy(model, signal, async (candidate, attemptSignal) => {
      const provider = this.providers.get(candidate.provider);
      const completion = await provider.complete({ ...body, model: candidate.upstreamId }, attemptSignal);
      return { completion, provider: candidate.provider, upstreamModel: candidate.upstreamId, model: candidate };
    });
  }

  async embed(model: ResolvedModel, body: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddedCall> {
    return this.withPolicy(model, signal, async (candidate, attemptSignal) => {
      const provider = this.providers.get(candidate.provider);
      const result = await provider.embed({ ...body, model: candidate.upstreamId }, attemptSignal);
      return { ...result, provider: candidate.provider, upstreamModel: candidate.upstreamId, model: candidate };
    });
  }

  async generateImage(model: ResolvedModel, body: ImageRequest, signal: AbortSignal): Promise<GeneratedImages> {
    return this.withPolicy(model, signal, async (candidate, attemptSignal) => {
      const provider = this.providers.get(candidate.provider);
      const result = await provider.generateImage({ ...body, model: candidate.upstreamId }, attemptSignal);
      return { ...result, provider: candidate.provider, upstreamModel: candidate.upstreamId, model: candidate };
    });
  }

  async openStream(model: ResolvedModel, body: ChatRequestBody, signal: AbortSignal): Promise<OpenedStream> {
    const idleMs = this.config.upstream.idleTimeoutMs;
    return this.withPolicy(model, signal, async (candidate, attemptSignal, controller, release) => {
      const provider = this.providers.get(candidate.provider);
      const source = await provider.stream(
        { ...body, model: candidate.upstreamId, stream: true, stream_options: { include_usage: true } },
        attemptSignal,
      );
      const idle = new IdleWatch(idleMs, controller);
      const first = await idle.next(source);
      if (first.done) {
        await source.cancel();
        throw new UpstreamFailure('bad_response', 'The upstream ended the stream without any chunk.');
      }
      return {
        first: first.value,
        provider: candidate.provider,
        upstreamModel: candidate.upstreamId,
        model: candidate,
        next: async () => {
          try {
            const result = await idle.next(source);
            // Ended: the attempt's timers and listeners go, not its connection (aborting would
            // destroy a response whose last bytes are still on their way, and the kept-alive socket with it).
            if (result.done) {
              idle.close();
              release();
            }
            return result;
          } catch (err) {
            throw this.toClientError(err, candidate);
          }
        },
        cancel: async () => {
          controller.abort({ kind: 'client' } satisfies AbortReason);
          await source.cancel();
        },
      };
    });
  }

  /**
   * Runs `attempt` against the model and then its fallbacks. The attempt's AbortController lives
   * as long as what it returns (a stream keeps using it), so its timeout is cleared only for
   * failed attempts and completed calls; a stream calls `release` when it has ended. A failed
   * attempt is aborted, which lets go of its request and of whatever watched it.
   */
  private async withPolicy<T>(
    model: ResolvedModel,
    clientSignal: AbortSignal,
    attempt: (candidate: ResolvedModel, signal: AbortSignal, controller: AbortController, release: () => void) => Promise<T>,
  ): Promise<T> {
    const candidates = [model, ...this.fallbacksOf(model)];
    let lastFailure: UpstreamFailure | null = null;
    let lastCandidate = model;
    for (const candidate of candidates) {
      for (let tryNo = 0; ; tryNo++) {
        const controller = new AbortController();
        const onClientAbort = () => controller.abort({ kind: 'client' } satisfies AbortReason);
        if (clientSignal.aborted) {
          // Before the first attempt nothing reached an upstream: nothing to bill.
          throw new UpstreamFailure('aborted', 'The request was aborted.', candidate === model && tryNo === 0 ? { code: NOT_SENT } : {});
        }
        clientSignal.addEventListener('abort', onClientAbort, { once: true });
        const timer = setTimeout(() => controller.abort({ kind: 'timeout' } satisfies AbortReason), this.config.upstream.timeoutMs);
        const release = () => {
          clearTimeout(timer);
          clientSignal.removeEventListener('abort', onClientAbort);
        };
        try {
          const result = await attempt(candidate, controller.signal, controller, release);
          if (!isStream(result)) {
            release();
          } else {
            // The stream keeps the timer (an overall bound) until it ends or is cancelled.
            controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
            timer.unref();
          }
          return result;
        } catch (err) {
          release();
          const failure = toFailure(err, controller.signal);
          if (!controller.signal.aborted) controller.abort({ kind: 'client' } satisfies AbortReason);
          if (failure.kind === 'aborted') throw failure;
          lastFailure = failure;
          lastCandidate = candidate;
          // A model that cannot take the call (a local model unavailable or busy): not retried, its fallbacks may answer.
          if (failure.kind === 'refused' && failure.details.fallback) {
            this.logFailure(candidate, failure, 'model refused the call; trying its fallbacks');
            break;
          }
          if (!failure.retryable) {
            this.logFailure(candidate, failure, 'upstream call failed');
            throw upstreamToDomain(failure, { provider: candidate.provider, model: candidate.id });
          }
          const wait = tryNo < this.config.upstream.maxRetries ? backoffMs(tryNo, failure.details.retryAfterMs) : null;
          this.logFailure(candidate, failure, 'upstream attempt failed', { retryInMs: wait });
          if (wait === null) break;
          try {
            await sleep(wait, clientSignal);
          } catch {
            throw new UpstreamFailure('aborted', 'The request was aborted.');
          }
        }
      }
    }
    throw upstreamToDomain(lastFailure!, { provider: lastCandidate.provider, model: lastCandidate.id });
  }

  private fallbacksOf(model: ResolvedModel): ResolvedModel[] {
    const out: ResolvedModel[] = [];
    for (const id of model.fallbacks) {
      try {
        out.push(this.catalog.resolve(id, model.kind));
      } catch {
        // A fallback whose provider is not configured here is simply not tried.
      }
    }
    return out;
  }

  /** A failure after the stream began: reported in-band by the caller. */
  private toClientError(err: unknown, candidate: ResolvedModel): unknown {
    if (!(err instanceof UpstreamFailure) || err.kind === 'aborted') return err;
    this.logFailure(candidate, err, 'upstream stream failed');
    return upstreamToDomain(err, { provider: candidate.provider, model: candidate.id, midStream: true });
  }

  /** The upstream's own words go to the log (warn), never to the client (see upstreamToDomain). */
  private logFailure(candidate: ResolvedModel, failure: UpstreamFailure, msg: string, extra: Record<string, unknown> = {}): void {
    const { status, upstreamMessage, upstreamBody } = failure.details;
    this.logger.warn(
      {
        provider: candidate.provider,
        model: candidate.id,
        kind: failure.kind,
        status,
        reason: failure.message,
        upstreamMessage,
        upstreamBody,
        ...extra,
      },
      msg,
    );
  }
}

function isStream(value: unknown): value is OpenedStream {
  return !!value && typeof value === 'object' && 'first' in value && 'next' in value;
}

function toFailure(err: unknown, signal: AbortSignal): UpstreamFailure {
  if (err instanceof UpstreamFailure) {
    // An abort caused by our own timer is a timeout, whatever the provider called it.
    if (err.kind === 'aborted' && (signal.reason as AbortReason | undefined)?.kind === 'timeout') {
      return new UpstreamFailure('timeout', 'The upstream did not answer in time.');
    }
    return err;
  }
  return new UpstreamFailure('connection', (err as Error)?.message ?? 'The upstream call failed.');
}

/**
 * The upstream's silence, measured only while a chunk is awaited (a slow client holding the
 * relay back is not the upstream's silence). One timer per stream, re-armed lazily: a chunk
 * costs two assignments, not a timer and a promise race.
 */
class IdleWatch {
  private waitingSince = 0;
  private timedOut = false;
  private closed = false;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    private readonly controller: AbortController,
  ) {
    this.timer = this.arm(idleMs);
    controller.signal.addEventListener('abort', () => clearTimeout(this.timer), { once: true });
  }

  /** Stops watching (the stream ended). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** The next chunk, or an idle-timeout failure (which also aborts the upstream request). */
  async next(source: ChunkSource): Promise<IteratorResult<ChatChunk>> {
    this.waitingSince = Date.now();
    try {
      return await source.next();
    } catch (err) {
      if (this.timedOut) throw new UpstreamFailure('timeout', `The upstream stream was silent for ${this.idleMs} ms.`);
      throw toFailure(err, this.controller.signal);
    } finally {
      this.waitingSince = 0;
    }
  }

  private arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.check(), ms);
    timer.unref();
    return timer;
  }

  /** Fires at most once per idle period: aborts a wait that has lasted it, else waits for the rest of it. */
  private check(): void {
    if (this.closed || this.controller.signal.aborted) return;
    const silentMs = this.waitingSince ? Date.now() - this.waitingSince : 0;
    if (silentMs >= this.idleMs) {
      this.timedOut = true;
      this.controller.abort({ kind: 'timeout' } satisfies AbortReason);
      return;
    }
    this.timer = this.arm(this.idleMs - silentMs);
  }
}
