import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { LlmGateway } from '../../llm/llm-gateway.service.js';
import { ModelCatalog, type ResolvedModel } from '../../llm/model-catalog.js';
import { figure, NO_TOKENS } from '../../llm/pricing.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { answer, type Answer, type CallSession } from '../../common/streaming/answer.js';
import type { CallPlan } from '../../metering/call.js';
import { Metering } from '../../metering/metering.service.js';
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
    private readonly metering: Metering,
    private readonly config: AppConfig,
  ) {}

  async create(caller: Caller, body: EmbeddingBody, session: CallSession): Promise<Answer<EmbeddingListView>> {
    const model = this.catalog.resolve(body.model, 'embedding');
    const input = inputsOf(body.input);
    if (body.dimensions !== undefined && model.dimensions !== null && body.dimensions > model.dimensions) {
      throw new DomainError('invalid', `The model '${model.id}' gives at most ${model.dimensions} dimensions.`, { param: 'dimensions' });
    }
    const call: CallPlan = { model, responseModel: model.id, promptTokens: await this.count(input, model), maxOutputTokens: 0 };
    const { answered, headers } = await this.metering.call(
      caller,
      call,
      { ...session, endUser: body.user },
      (signal) => this.gateway.embed(model, { model: model.upstreamId, input, dimensions: body.dimensions, user: body.user }, signal),
      // The upstream's count is the truth when it is believable (no input can exceed the window); ours otherwise.
      (a) => {
        const reported = figure(a.promptTokens, model.contextWindow * input.length);
        return { usage: { ...NO_TOKENS, promptTokens: reported ?? call.promptTokens }, estimated: reported === null };
      },
    );
    const promptTokens = figure(answered.promptTokens, model.contextWindow * input.length) ?? call.promptTokens;
    return answer(
      {
        object: 'list',
        data: answered.vectors.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: body.encoding_format === 'base64' ? toBase64(vector) : vector,
        })),
        model: model.id,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      } satisfies EmbeddingListView,
      headers,
    );
  }

  /** Tokens of every input; 400 when one exceeds the model's window or all exceed the server's limit. */
  private async count(input: string[] | number[][], model: ResolvedModel): Promise<number> {
    const texts = input.map((item) => (typeof item === 'string' ? item : ''));
    const counted = await this.tokens.countMany(texts);
    let total = 0;
    for (const [index, item] of input.entries()) {
      const n = typeof item === 'string' ? counted[index] : item.length;
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
