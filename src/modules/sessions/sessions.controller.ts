import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { ownerParams, type OwnerParams } from '../../common/http/ownership.js';
import type { ListPage } from '../../common/http/pagination.js';
import {
  createSessionBody,
  listSessionsQuery,
  sessionIdParams,
  sessionList,
  sessionView,
  type CreateSessionBody,
  type ListSessionsQuery,
  type SessionIdParams,
  type SessionView,
} from './sessions.schemas.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('Sessions')
@ApiBearerAuth()
@Controller()
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('sessions')
  @HttpCode(201)
  @ApiOperation({ summary: 'Start a session', description: 'Requests naming its id in `session_id` are grouped in it.' })
  @ApiOk(sessionView, 201)
  @ApiErrors(400)
  create(@CurrentUser() caller: Caller, @Body({ schema: createSessionBody }) body: CreateSessionBody): Promise<SessionView> {
    return this.sessions.create(caller, body);
  }

  @Get('sessions/:id')
  @ApiOperation({ summary: 'Get a session with its running totals' })
  @ApiOk(sessionView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: sessionIdParams }) { id }: SessionIdParams): Promise<SessionView> {
    return this.sessions.get(caller, id);
  }

  @Post('sessions/:id/end')
  @HttpCode(200)
  @ApiOperation({ summary: 'End a session', description: 'Later requests without session_id start a new one.' })
  @ApiOk(sessionView)
  @ApiErrors(400, 404)
  end(@CurrentUser() caller: Caller, @Param({ schema: sessionIdParams }) { id }: SessionIdParams): Promise<SessionView> {
    return this.sessions.end(caller, id);
  }

  @Get('users/:id/sessions')
  @ApiOperation({ summary: "List a user's sessions", description: '`me` for the caller; admins may name any user.' })
  @ApiOk(sessionList)
  @ApiErrors(400, 404)
  list(
    @CurrentUser() caller: Caller,
    @Param({ schema: ownerParams }) { id }: OwnerParams,
    @Query({ schema: listSessionsQuery }) query: ListSessionsQuery,
  ): Promise<ListPage<SessionView>> {
    return this.sessions.listForUser(caller, id, query);
  }
}
