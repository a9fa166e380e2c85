import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import type { ListPage } from '../../common/http/pagination.js';
import { AdminOnly } from '../../common/http/route-access.js';
import { userIdParams, type UserIdParams } from '../users/users.schemas.js';
import {
  apiKeyList,
  apiKeyView,
  createdApiKeyView,
  createKeyBody,
  deletedKeyView,
  keyIdParams,
  listKeysQuery,
  updateKeyBody,
  type ApiKeyView,
  type CreatedApiKeyView,
  type CreateKeyBody,
  type DeletedKeyView,
  type KeyIdParams,
  type ListKeysQuery,
  type UpdateKeyBody,
} from './api-keys.schemas.js';
import { ApiKeysService } from './api-keys.service.js';

@ApiTags('API keys (admin)')
@ApiBearerAuth()
@AdminOnly()
@Controller()
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post('users/:id/keys')
  @HttpCode(201)
  @ApiOperation({ summary: 'Issue an API key for a user', description: 'The `key` is shown only in this response.' })
  @ApiOk(createdApiKeyView, 201)
  @ApiErrors(400, 403, 404)
  issue(@Param({ schema: userIdParams }) { id }: UserIdParams, @Body({ schema: createKeyBody }) body: CreateKeyBody): Promise<CreatedApiKeyView> {
    return this.keys.issue(id, body);
  }

  @Get('users/:id/keys')
  @ApiOperation({ summary: "List a user's keys", description: 'Prefixes only; keys are never shown again.' })
  @ApiOk(apiKeyList)
  @ApiErrors(400, 403, 404)
  list(@Param({ schema: userIdParams }) { id }: UserIdParams, @Query({ schema: listKeysQuery }) query: ListKeysQuery): Promise<ListPage<ApiKeyView>> {
    return this.keys.listForUser(id, query);
  }

  @Patch('keys/:id')
  @ApiOperation({ summary: "Change a key's name, limits or budget" })
  @ApiOk(apiKeyView)
  @ApiErrors(400, 403, 404)
  update(@Param({ schema: keyIdParams }) { id }: KeyIdParams, @Body({ schema: updateKeyBody }) body: UpdateKeyBody): Promise<ApiKeyView> {
    return this.keys.update(id, body);
  }

  @Delete('keys/:id')
  @ApiOperation({ summary: 'Revoke a key', description: 'The next request with it gets 401, on every replica within seconds.' })
  @ApiOk(deletedKeyView)
  @ApiErrors(400, 403, 404)
  revoke(@Param({ schema: keyIdParams }) { id }: KeyIdParams): Promise<DeletedKeyView> {
    return this.keys.revoke(id);
  }
}
