import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { GuestAllowed } from '../../common/http/route-access.js';
import { callSession, replyWith } from '../../common/http/call-session.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChatCompletion } from '../../llm/chat-types.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import { chatCompletionBody, chatCompletionView, type ChatCompletionBody } from './completions.schemas.js';
import { CompletionsService } from './completions.service.js';

@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@Controller('v1/chat')
export class CompletionsController {
  constructor(
    private readonly completions: CompletionsService,
    private readonly config: AppConfig,
  ) {}

  @Post('completions')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @GuestAllowed()
  @ApiOperation({
    summary: 'Create a chat completion (OpenAI-compatible)',
    description:
      "A drop-in for OpenAI's endpoint: any OpenAI SDK works with its base URL pointed here. With `stream: true` " +
      'the answer is `text/event-stream` of `chat.completion.chunk` events ending with `data: [DONE]`, plus a usage ' +
      'chunk when `stream_options.include_usage` is set. Personas are model ids. Stateless: metered, not stored. ' +
      'With guest access on (GUEST_ACCESS), also served without a key, as the guest user, limited per client IP.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/ChatCompletionRequest' } })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOk(chatCompletionView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async create(
    @CurrentUser() caller: Caller,
    @Body({ schema: chatCompletionBody }) body: ChatCompletionBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletion | undefined> {
    const session = callSession(reply, body.stream ? { pingIntervalMs: this.config.upstream.pingIntervalMs } : undefined);
    return replyWith(reply, await this.completions.create(caller, body, session));
  }
}
