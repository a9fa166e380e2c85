import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { GuestAllowed } from '../../common/http/route-access.js';
import { callSession, replyWith } from '../../common/http/call-session.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import { embeddingBody, embeddingListView, type EmbeddingBody, type EmbeddingListView } from './embeddings.schemas.js';
import { EmbeddingsService } from './embeddings.service.js';

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@Controller('v1/embeddings')
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post()
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @GuestAllowed()
  @ApiOperation({
    summary: 'Create embeddings (OpenAI-compatible)',
    description:
      "A drop-in for OpenAI's endpoint (`client.embeddings.create` works). Any embedding model of the catalog, or " +
      'the built-in `colloquy/embed` (feature-hashed, offline, for development). Metered and held to the same token ' +
      'limits and budgets as chat. A chat model answers 404 `model_not_supported`; an input longer than the ' +
      "model's window answers 400 `context_length_exceeded`. " +
      'With guest access on (GUEST_ACCESS), also served without a key, as the guest user, limited per client IP.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/CreateEmbeddingRequest' } })
  @ApiOk(embeddingListView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async create(
    @CurrentUser() caller: Caller,
    @Body({ schema: embeddingBody }) body: EmbeddingBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EmbeddingListView | undefined> {
    return replyWith(reply, await this.embeddings.create(caller, body, callSession(reply)));
  }
}
