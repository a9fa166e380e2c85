import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { clientDisconnectSignal } from '../../common/http/sse.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { LlmGateway, type EmbeddedCall } from '../../llm/llm-gateway.service.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import { ModelCatalog, type ResolvedModel } from '../../llm/model-catalog.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { LimitsService } from '../limits/limits.service.js';
import type { MeteredCallPlan } from '../completions/completion-runner.js';
import { usageEntry, type RequestMeta } from '../completions/completions.service.js';
import { UsageRecorder } from '../usage/usage-recorder.service.js';
import type { EmbeddingBody, EmbeddingListView } from './embeddings.schemas.js';

/**
 * POST /v1/embeddings: OpenAI's endpoint over any embedding model of the catalog. Each input is
 * checked against the model's context window before any upstream call; the call is admitted
 * against the caller's token limits and budgets, and metered like a chat call (no completion
 * tokens), whatever its outcome.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly gateway: LlmGateway,
    private readonly tokens: TokenCounter,
    private readonly limits: LimitsService,
    private readonly usage: UsageRecorder,
    private readonly config: AppConfig,
  ) {}

  async create(caller: Caller, body: EmbeddingBody, reply: FastifyReply, meta: RequestMeta): Promise<EmbeddingListView> {
    const model = this.catalog.resolve(body.model, 'embedding');
    const input = inputsOf(body.input);
    if (body.dimensions !== undefined && model.dimensions !== null && body.dimensions > model.dimensions) {
      throw new DomainError('invalid', `The model '${body.model}' gives at most ${model.dimensions} dimensions.`, { param: 'dimensions' });
    }
    const call: MeteredCallPlan = { model, responseModel: body.model, promptTokens: this.count(input, model), maxOutputTokens: 0 };
    const admission = await this.limits.admit(caller, call);
    reply.headers(admission.headers);
    const signal = clientDisconnectSignal(reply);

    const start = performance.now();
    let answered: EmbeddedCall | null = null;
    let failure: unknown = null;
    try {
      answered = await this.gateway.embed(model, { model: model.upstreamId, input, dimensions: body.dimensions, user: body.user }, signal);
    } catch (err) {
      failure = err;
    }
    const aborted = failure instanceof UpstreamFailure && failure.kind === 'aborted';
    const error = failure === null || aborted ? null : failure instanceof DomainError ? failure : new DomainError('upstream_error', 'The upstream call failed.');
    // A refused call was not billed; an answered or abandoned one is counted (ours when the upstream gave no figure).
    const promptTokens = answered?.promptTokens ?? (error ? 0 : call.promptTokens);
    const usage = { promptTokens, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 };
    const latencyMs = performance.now() - start;
    const entry = usageEntry(
      caller,
      call,
      {
        answered,
        usage,
        latencyMs,
        ttftMs: answered ? latencyMs : null,
        status: answered ? 'ok' : aborted ? 'aborted' : 'error',
        estimated: !error && answered?.promptTokens == null,
        error,
      },
      meta,
      body.user,
    );
    await admission.settle(usage, entry.costMicros);
    this.usage.record(entry);
    if (error) throw error;
    if (!answered) throw new DomainError('unavailable', 'The request was aborted.');

    return {
      object: 'list',
      data: answered.vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: body.encoding_format === 'base64' ? toBase64(vector) : vector,
      })),
      model: body.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  }

  /** Tokens of every input; 400 when one exceeds the model's window or all exceed the server's limit. */
  private count(input: string[] | number[][], model: ResolvedModel): number {
    let total = 0;
    for (const [index, item] of input.entries()) {
      const n = typeof item === 'string' ? this.tokens.count(item) : item.length;
      if (n > model.contextWindow) {
        throw new DomainError(
          'invalid',
          `This model's maximum context length is ${model.contextWindow} tokens, however you requested ${n} tokens in input ${index}. Please reduce your input.`,
          { param: 'input', code: 'context_length_exceeded' },
        );
      }
      total += n;
    }
    if (total > this.config.limits.maxInputTokens) {
      throw new DomainError(
        'invalid',
        `The server accepts at most ${this.config.limits.maxInputTokens} tokens per request; these inputs have ${total}.`,
        { param: 'input', code: 'context_length_exceeded' },
      );
    }
    return total;
  }
}

/** OpenAI accepts one input or many; upstreams get an array either way. */
function inputsOf(input: EmbeddingBody['input']): string[] | number[][] {
  if (typeof input === 'string') return [input];
  if (typeof input[0] === 'number') return [input as number[]];
  return input as string[] | number[][];
}

/** OpenAI's base64 encoding: the vector's float32 values, little-endian. */
function toBase64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}
