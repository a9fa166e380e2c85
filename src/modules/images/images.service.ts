import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { LlmGateway } from '../../llm/llm-gateway.service.js';
import { BUILTIN_PROVIDER, ModelCatalog } from '../../llm/model-catalog.js';
import { figure, imageCostMicros } from '../../llm/pricing.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { answer, type Answer, type CallSession } from '../../common/streaming/answer.js';
import type { CallPlan } from '../../metering/call.js';
import { Metering } from '../../metering/metering.service.js';
import type { ImageGenerationBody, ImagesResponseView } from './images.schemas.js';

/** The most output tokens one image may cost on token-priced models (gpt-image-1, high quality, 1536×1024). */
const MAX_IMAGE_OUTPUT_TOKENS = 6_240;
/** What the built-in model draws, in pixels a side. */
const BUILTIN_SIZES = new Set(['auto', '256x256', '512x512', '1024x1024']);

/**
 * POST /v1/images/generations: OpenAI's endpoint over the catalog's image models. Admitted against
 * the caller's limits and budgets with the most the call may cost, then metered at what it did
 * cost: the upstream's token usage where it reports one, plus the catalog's price per image.
 */
@Injectable()
export class ImagesService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly gateway: LlmGateway,
    private readonly tokens: TokenCounter,
    private readonly metering: Metering,
  ) {}

  async generate(caller: Caller, body: ImageGenerationBody, session: CallSession): Promise<Answer<ImagesResponseView>> {
    const model = this.catalog.resolve(body.model, 'image');
    if (model.provider === BUILTIN_PROVIDER) {
      if (body.response_format === 'url') {
        throw new DomainError('invalid', `The model '${model.id}' answers with b64_json only.`, { param: 'response_format' });
      }
      if (body.size && !BUILTIN_SIZES.has(body.size)) {
        throw new DomainError('invalid', `The model '${model.id}' draws 256x256, 512x512 or 1024x1024 images.`, { param: 'size' });
      }
    }
    const n = body.n;
    const promptTokens = await this.tokens.countText(body.prompt);
    const call: CallPlan = {
      model,
      responseModel: model.id,
      promptTokens,
      maxOutputTokens: n * MAX_IMAGE_OUTPUT_TOKENS,
      worstCostMicros: imageCostMicros(
        model.pricing,
        { promptTokens, completionTokens: n * MAX_IMAGE_OUTPUT_TOKENS, cachedTokens: 0, reasoningTokens: 0 },
        n,
      ),
    };
    const { answered, headers } = await this.metering.call(
      caller,
      call,
      { ...session, endUser: body.user },
      (signal) => this.gateway.generateImage(model, { ...body, model: model.upstreamId, n }, signal),
      (a) => {
        // Without a believable count from the upstream, the prompt is ours and the pictures cost no tokens.
        const input = figure(a.usage?.inputTokens, model.contextWindow);
        const output = figure(a.usage?.outputTokens, n * MAX_IMAGE_OUTPUT_TOKENS);
        const reported = input !== null && output !== null;
        const usage = { promptTokens: reported ? input : promptTokens, completionTokens: reported ? output : 0, cachedTokens: 0, reasoningTokens: 0 };
        // Priced as the model that answered (a fallback may have), for the images it really drew.
        return { usage, estimated: !reported, costMicros: imageCostMicros(a.model.pricing, usage, Math.min(a.response.data.length, n)) };
      },
    );
    return answer(answered.response as ImagesResponseView, headers);
  }
}
