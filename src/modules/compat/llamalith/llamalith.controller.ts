import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, ApiOk } from '../../../common/http/api-docs.js';
import type { Caller } from '../../../common/http/caller.js';
import { CurrentUser } from '../../../common/http/current-user.decorator.js';
import { RateLimitGuard } from '../../access/rate-limit.guard.js';
import {
  llamalithJobParams,
  llamalithJobsQuery,
  llamalithJobView,
  llamalithStatusParams,
  llamalithStatusView,
  llamalithSubmitBody,
  llamalithSubmitView,
  type LlamalithJobParams,
  type LlamalithJobsQuery,
  type LlamalithJobView,
  type LlamalithStatusParams,
  type LlamalithStatusView,
  type LlamalithSubmitBody,
  type LlamalithSubmitView,
} from './llamalith.schemas.js';
import { LlamalithService } from './llamalith.service.js';

/** Llamalith (seed 003): its REST API under its base path /chat/api, over the job queue. */
@ApiTags('Compatibility')
@ApiBearerAuth()
@Controller('chat/api')
export class LlamalithController {
  constructor(private readonly llamalith: LlamalithService) {}

  @Post('submit')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: 'Llamalith: submit a prompt as a job',
    description:
      'Queues a /chat turn (POST /jobs): `user_input` as the user message, `system_prompt` as the system message, `session_id` as the ' +
      'conversation key (created on first use), `model` through the catalog and its aliases. Poll GET /chat/api/jobs/{job_id}.',
  })
  @ApiOk(llamalithSubmitView)
  @ApiErrors(400, 404, 413, 415, 429)
  submit(@CurrentUser() caller: Caller, @Body({ schema: llamalithSubmitBody }) body: LlamalithSubmitBody): Promise<LlamalithSubmitView> {
    return this.llamalith.submit(caller, body);
  }

  @Get('jobs/:job_id')
  @ApiOperation({
    summary: 'Llamalith: a job',
    description: "Status `queued`, `processing`, `done` (with `result`, the assistant's text) or `error` (failed or cancelled, with `error`).",
  })
  @ApiOk(llamalithJobView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: llamalithJobParams }) { job_id }: LlamalithJobParams): Promise<LlamalithJobView> {
    return this.llamalith.get(caller, job_id);
  }

  @Get('jobs')
  @ApiOperation({ summary: 'Llamalith: list jobs', description: 'Newest first, filtered by conversation (key or id) and status.' })
  @ApiOk(z.array(llamalithJobView))
  @ApiErrors(400)
  list(@CurrentUser() caller: Caller, @Query({ schema: llamalithJobsQuery }) query: LlamalithJobsQuery): Promise<LlamalithJobView[]> {
    return this.llamalith.list(caller, query);
  }

  @Get('status/:conversation_id')
  @ApiOperation({
    summary: "Llamalith: a conversation's latest reply",
    description: 'The newest assistant message of your conversation (by key or id), or `null` while there is none (or no such conversation).',
  })
  @ApiOk(llamalithStatusView)
  @ApiErrors(400)
  status(
    @CurrentUser() caller: Caller,
    @Param({ schema: llamalithStatusParams }) { conversation_id }: LlamalithStatusParams,
  ): Promise<LlamalithStatusView> {
    return this.llamalith.status(caller, conversation_id);
  }
}
