import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiErrors, ApiOk } from '../../../common/http/api-docs.js';
import { callSession, replyWith } from '../../../common/http/call-session.js';
import type { Caller } from '../../../common/http/caller.js';
import { CurrentUser } from '../../../common/http/current-user.decorator.js';
import { GuestAllowed } from '../../../common/http/route-access.js';
import { RateLimitGuard } from '../../access/rate-limit.guard.js';
import { deletedConversationView } from '../../conversations/conversations.schemas.js';
import { embeddingListView, type EmbeddingListView } from '../../embeddings/embeddings.schemas.js';
import { imagesResponseView, type ImagesResponseView } from '../../images/images.schemas.js';
import { deletedMemoriesView, type DeletedMemoriesView } from '../../memories/memories.schemas.js';
import {
  memoryConversationParams,
  memoryConversationQuery,
  memoryStatusView,
  memoryUserParams,
  smartHostEmbedBody,
  smartHostImageBody,
  type MemoryConversationParams,
  type MemoryConversationQuery,
  type MemoryStatusView,
  type MemoryUserParams,
  type SmartHostEmbedBody,
  type SmartHostImageBody,
} from './smart-host.schemas.js';
import { SmartHostService } from './smart-host.service.js';

/** Smart-Host (seed 002): /embed, /image and the memory routes. Its /chat, /ws_chat, /tools and /call_tool are the native routes. */
@ApiTags('Compatibility')
@ApiBearerAuth()
@Controller()
export class SmartHostController {
  constructor(private readonly smartHost: SmartHostService) {}

  @Post('embed')
  @GuestAllowed()
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: 'Smart-Host: create embeddings',
    description:
      'POST /v1/embeddings with `provider`: `model` is looked up within that provider (without one: its first embedding model). ' +
      'The answer, metering and errors are those of /v1/embeddings.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/SmartHostEmbedRequest' } })
  @ApiOk(embeddingListView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async embed(
    @CurrentUser() caller: Caller,
    @Body({ schema: smartHostEmbedBody }) body: SmartHostEmbedBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EmbeddingListView | undefined> {
    return replyWith(reply, await this.smartHost.embed(caller, body, callSession(reply)));
  }

  @Post('image')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: 'Smart-Host: generate images',
    description:
      'POST /v1/images/generations with `provider`: `model` is looked up within that provider (without one: its first image model). ' +
      'The answer, metering and errors are those of /v1/images/generations.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/SmartHostImageRequest' } })
  @ApiOk(imagesResponseView)
  @ApiErrors(400, 404, 413, 415, 429, 502, 503, 504)
  async image(
    @CurrentUser() caller: Caller,
    @Body({ schema: smartHostImageBody }) body: SmartHostImageBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ImagesResponseView | undefined> {
    return replyWith(reply, await this.smartHost.image(caller, body, callSession(reply)));
  }

  @Delete('memory/conversation/:id')
  @ApiOperation({
    summary: "Smart-Host: delete a conversation's history",
    description:
      'Deletes the conversation (as DELETE /conversations/{id}; its usage stays metered and its key is free again). By id, or by key (chat_id): ' +
      "the key under `user_id` when given, else your account's own conversation, else the one end user's with that key (409 when several have one).",
  })
  @ApiOk(deletedConversationView)
  @ApiErrors(400, 404, 409)
  forgetConversation(
    @CurrentUser() caller: Caller,
    @Param({ schema: memoryConversationParams }) { id }: MemoryConversationParams,
    @Query({ schema: memoryConversationQuery }) { user_id }: MemoryConversationQuery,
  ) {
    return this.smartHost.forgetConversation(caller, id, user_id);
  }

  @Delete('memory/user/:user_id')
  @ApiOperation({
    summary: "Smart-Host: forget an end user's memories",
    description: "Deletes every memory of that end user under your account (your account's own id: its own memories, as DELETE /memories).",
  })
  @ApiOk(deletedMemoriesView)
  @ApiErrors(400)
  forgetUser(@CurrentUser() caller: Caller, @Param({ schema: memoryUserParams }) { user_id }: MemoryUserParams): Promise<DeletedMemoriesView> {
    return this.smartHost.forgetUser(caller, user_id);
  }

  @Get('memory/status')
  @ApiOperation({
    summary: 'Smart-Host: memory status',
    description: 'Counts and ids of your conversations with stored history (their keys where they have one) and of the end users with memories.',
  })
  @ApiOk(memoryStatusView)
  @ApiErrors()
  status(@CurrentUser() caller: Caller): Promise<MemoryStatusView> {
    return this.smartHost.status(caller);
  }
}
