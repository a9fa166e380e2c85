import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import type { ListPage } from '../../common/http/pagination.js';
import {
  conversationList,
  conversationParams,
  conversationView,
  createConversationBody,
  deletedConversationView,
  listConversationsQuery,
  listMessagesQuery,
  messageList,
  updateConversationBody,
  type ConversationParams,
  type ConversationView,
  type CreateConversationBody,
  type ListConversationsQuery,
  type ListMessagesQuery,
  type MessageView,
  type UpdateConversationBody,
} from './conversations.schemas.js';
import { ConversationsService } from './conversations.service.js';

@ApiTags('Conversations')
@ApiBearerAuth()
@Controller('conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a conversation', description: '/chat also creates one when a request names none.' })
  @ApiOk(conversationView, 201)
  @ApiErrors(400, 404)
  create(@CurrentUser() caller: Caller, @Body({ schema: createConversationBody }) body: CreateConversationBody): Promise<ConversationView> {
    return this.conversations.create(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'List conversations', description: 'Newest first; filter by `session_id`, `tag`, or `q` (title or message text).' })
  @ApiOk(conversationList)
  @ApiErrors(400, 404)
  list(@CurrentUser() caller: Caller, @Query({ schema: listConversationsQuery }) query: ListConversationsQuery): Promise<ListPage<ConversationView>> {
    return this.conversations.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a conversation with its running totals' })
  @ApiOk(conversationView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: conversationParams }) { id }: ConversationParams): Promise<ConversationView> {
    return this.conversations.get(caller, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename, tag or annotate a conversation' })
  @ApiOk(conversationView)
  @ApiErrors(400, 404)
  update(
    @CurrentUser() caller: Caller,
    @Param({ schema: conversationParams }) { id }: ConversationParams,
    @Body({ schema: updateConversationBody }) body: UpdateConversationBody,
  ): Promise<ConversationView> {
    return this.conversations.update(caller, id, body);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a conversation', description: 'Soft delete: it answers 404 afterwards; its usage stays metered.' })
  @ApiOk(deletedConversationView)
  @ApiErrors(400, 404)
  remove(@CurrentUser() caller: Caller, @Param({ schema: conversationParams }) { id }: ConversationParams) {
    return this.conversations.remove(caller, id);
  }

  @Get(':id/messages')
  @ApiOperation({ summary: "A conversation's messages", description: 'Chronological (`order=asc`) by default, paginated.' })
  @ApiOk(messageList)
  @ApiErrors(400, 404)
  messages(
    @CurrentUser() caller: Caller,
    @Param({ schema: conversationParams }) { id }: ConversationParams,
    @Query({ schema: listMessagesQuery }) query: ListMessagesQuery,
  ): Promise<ListPage<MessageView>> {
    return this.conversations.listMessages(caller, id, query);
  }
}
