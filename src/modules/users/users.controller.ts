import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { AdminOnly } from '../../common/http/route-access.js';
import {
  createUserBody,
  listUsersQuery,
  updateUserBody,
  userIdParams,
  userList,
  userView,
  type CreateUserBody,
  type ListUsersQuery,
  type UpdateUserBody,
  type UserIdParams,
  type UserView,
} from './users.schemas.js';
import type { ListPage } from '../../common/http/pagination.js';
import { UsersService } from './users.service.js';

@ApiTags('Users (admin)')
@ApiBearerAuth()
@AdminOnly()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Create a user' })
  @ApiOk(userView, 201, 'The new user (give it a key with POST /users/{id}/keys).')
  @ApiErrors(400, 403, 409)
  create(@Body({ schema: createUserBody }) body: CreateUserBody): Promise<UserView> {
    return this.users.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List users' })
  @ApiOk(userList)
  @ApiErrors(400, 403)
  list(@Query({ schema: listUsersQuery }) query: ListUsersQuery): Promise<ListPage<UserView>> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user' })
  @ApiOk(userView)
  @ApiErrors(400, 403, 404)
  get(@Param({ schema: userIdParams }) { id }: UserIdParams): Promise<UserView> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Update a user',
    description:
      "Name, role, disabled, limits, budget and tools (the user's own tool allow list; null = what tools.allow gives the role). Disabling takes effect on every replica within seconds.",
  })
  @ApiOk(userView)
  @ApiErrors(400, 403, 404, 409)
  update(@Param({ schema: userIdParams }) { id }: UserIdParams, @Body({ schema: updateUserBody }) body: UpdateUserBody): Promise<UserView> {
    return this.users.update(id, body);
  }
}
