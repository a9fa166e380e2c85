import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiOk } from '../../../common/http/api-docs.js';
import { callSession, replyWith } from '../../../common/http/call-session.js';
import type { Caller } from '../../../common/http/caller.js';
import { CurrentUser } from '../../../common/http/current-user.decorator.js';
import { GuestAllowed } from '../../../common/http/route-access.js';
import { AppConfig } from '../../../config/app-config.js';
import type { ChatCompletion } from '../../../llm/chat-types.js';
import { RateLimitGuard } from '../../access/rate-limit.guard.js';
import { chatCompletionView } from '../../completions/completions.schemas.js';
import { lumaChatBody, lumaStreamBody, type LumaChatBody, type LumaStreamBody } from './luma.schemas.js';
import { LumaService } from './luma.service.js';

// Beside POST /chat (ChatController), on paths of their own: /chat/completion and /chat/stream.
// Stateless like /v1: open to guests under either guest scope.
@GuestAllowed()
@ApiTags('Compatibility')
@ApiBearerAuth()
@Controller('chat')
export class LumaController {
  constructor(
    private readonly luma: LumaService,
    private readonly config: AppConfig,
  ) {}

  @Post('completion')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: "Luma: create a chat completion (Luma's /chat/completion)",
    description:
      'Messages in the roles `system`, `user` and `assistant`, and sampling parameters, answered as a `chat.completion` on ' +
      '`compat.luma.model` (LUMA_MODEL, default the persona `luma/therapist`) unless the body names a model. The same call as ' +
      'POST /v1/chat/completions: stateless (metered, not stored), with its errors.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/LumaChatRequest' } })
  @ApiOk(chatCompletionView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async completion(
    @CurrentUser() caller: Caller,
    @Body({ schema: lumaChatBody }) body: LumaChatBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletion | undefined> {
    return replyWith(reply, await this.luma.complete(caller, body, callSession(reply)));
  }

  @Post('stream')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: "Luma: stream a chat completion (Luma's /chat/stream)",
    description:
      'The body of /chat/completion, answered as POST /v1/chat/completions answers `stream: true`: `text/event-stream` of ' +
      '`chat.completion.chunk` events ending with `data: [DONE]` (a usage chunk first when `stream_options.include_usage` is ' +
      'set), a failure before the first chunk as an error status, one after it as an in-band error frame before `[DONE]`.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/LumaStreamRequest' } })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: '`data: {chat.completion.chunk}` events, then `data: [DONE]`.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async stream(
    @CurrentUser() caller: Caller,
    @Body({ schema: lumaStreamBody }) body: LumaStreamBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatCompletion | undefined> {
    return replyWith(reply, await this.luma.complete(caller, body, callSession(reply, { pingIntervalMs: this.config.upstream.pingIntervalMs })));
  }
}
