import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import type { ListPage } from '../../common/http/pagination.js';
import {
  createMemoryBody,
  deletedMemoriesView,
  listMemoriesQuery,
  memoryIdParams,
  memoryList,
  memoryView,
  type CreateMemoryBody,
  type DeletedMemoriesView,
  type ListMemoriesQuery,
  type MemoryIdParams,
  type MemoryView,
} from './memories.schemas.js';
import { MemoriesService } from './memories.service.js';

@ApiTags('Memory')
@ApiBearerAuth()
@Controller('memories')
export class MemoriesController {
  constructor(private readonly memories: MemoriesService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Remember something',
    description: '/chat with `use_memory: true` puts your newest memories (up to MEMORY_MAX_TOKENS) in the prompt.',
  })
  @ApiOk(memoryView, 201)
  @ApiErrors(400)
  create(@CurrentUser() caller: Caller, @Body({ schema: createMemoryBody }) body: CreateMemoryBody): Promise<MemoryView> {
    return this.memories.create(caller, body.content);
  }

  @Get()
  @ApiOperation({ summary: 'List your memories', description: 'Newest first by default.' })
  @ApiOk(memoryList)
  @ApiErrors(400)
  list(@CurrentUser() caller: Caller, @Query({ schema: listMemoriesQuery }) query: ListMemoriesQuery): Promise<ListPage<MemoryView>> {
    return this.memories.list(caller, query);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Forget one memory' })
  @ApiOk(deletedMemoriesView)
  @ApiErrors(400, 404)
  remove(@CurrentUser() caller: Caller, @Param({ schema: memoryIdParams }) { id }: MemoryIdParams): Promise<DeletedMemoriesView> {
    return this.memories.remove(caller, id);
  }

  @Delete()
  @ApiOperation({ summary: 'Forget everything', description: 'Deletes all your memories; conversations are untouched.' })
  @ApiOk(deletedMemoriesView)
  @ApiErrors()
  clear(@CurrentUser() caller: Caller): Promise<DeletedMemoriesView> {
    return this.memories.clear(caller);
  }
}
