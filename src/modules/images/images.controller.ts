import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { callSession, replyWith } from '../../common/http/call-session.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import { imageGenerationBody, imagesResponseView, type ImageGenerationBody, type ImagesResponseView } from './images.schemas.js';
import { ImagesService } from './images.service.js';

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post('generations')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: 'Generate images (OpenAI-compatible)',
    description:
      "A drop-in for OpenAI's endpoint (`client.images.generate` works) over the catalog's image models, or the built-in " +
      "`colloquy/image` (placeholder PNGs drawn from the prompt, offline, b64_json only). Metered at the upstream's token " +
      'usage plus the catalog price per image, and held to the same limits and budgets as chat.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/CreateImageRequest' } })
  @ApiOk(imagesResponseView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async generate(
    @CurrentUser() caller: Caller,
    @Body({ schema: imageGenerationBody }) body: ImageGenerationBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ImagesResponseView | undefined> {
    return replyWith(reply, await this.images.generate(caller, body, callSession(reply)));
  }
}
