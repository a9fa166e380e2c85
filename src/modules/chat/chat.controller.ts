import { Body, Controller, HttpCode, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { callSession, replyWith } from '../../common/http/call-session.js';
import { AppConfig } from '../../config/app-config.js';
import { AcceptsMultipart } from '../../common/http/route-access.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import { chatBody, chatResponseView, type ChatBody } from './chat.schemas.js';
import { ChatService, type ChatAnswer } from './chat.service.js';
import { MultipartChatInterceptor } from './multipart-chat.interceptor.js';

@ApiTags('Chat')
@ApiBearerAuth()
@Controller('chat')
export class ChatController {
  constructor(
    private readonly chats: ChatService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @HttpCode(200)
  @AcceptsMultipart()
  @UseGuards(RateLimitGuard)
  @UseInterceptors(MultipartChatInterceptor)
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiOperation({
    summary: 'Chat in a conversation (the unified endpoint)',
    description:
      'Sends the new messages of a turn. Without `conversation_id` a conversation is created; with one, its stored ' +
      "history is loaded and trimmed to the model's context. The answer is a `chat.completion` plus `conversation_id`, " +
      '`session_id` and `cost` (USD). With `stream: true`: the same SSE format as /v1/chat/completions, an ' +
      '`x-conversation-id` header, and a last chunk carrying `usage`, `conversation_id` and `cost` before `[DONE]`. ' +
      'As multipart/form-data: a `messages` field holding JSON, the other fields as form fields, and files in parts ' +
      'named `files` (attached to the last user message). JSON requests attach uploaded files with `file_ids` or ' +
      '`{"type":"file","file":{"file_id":…}}` content parts. The same turns stream over a WebSocket at GET /chat/ws ' +
      '(see the README).',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/ChatRequest' } })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOk(chatResponseView)
  @ApiErrors(400, 404, 409, 413, 415, 429, 502, 503, 504)
  async chat(
    @CurrentUser() caller: Caller,
    @Body({ schema: chatBody }) body: ChatBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatAnswer | undefined> {
    const session = callSession(reply, body.stream ? { pingIntervalMs: this.config.upstream.pingIntervalMs } : undefined);
    return replyWith(reply, await this.chats.chat(caller, body, session));
  }
}
