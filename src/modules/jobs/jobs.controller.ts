import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import type { ListPage } from '../../common/http/pagination.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import {
  jobIdParams,
  jobList,
  jobView,
  listJobsQuery,
  submitJobBody,
  type JobIdParams,
  type JobView,
  type ListJobsQuery,
  type SubmitJobBody,
} from './jobs.schemas.js';
import { JobsService } from './jobs.service.js';

@ApiTags('Jobs')
@ApiBearerAuth()
@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  @HttpCode(202)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: 'Queue a /chat request',
    description:
      'Takes the JSON body of POST /chat (without `stream`) and answers at once with a queued job; a background ' +
      'worker runs it as /chat would (history, storage, limits, metering) and its response appears in `result`. ' +
      'Poll GET /jobs/{id} until `status` is succeeded, failed or cancelled.',
  })
  @ApiBody({ schema: { $ref: '#/components/schemas/JobRequest' } })
  @ApiOk(jobView, 202, 'Queued')
  @ApiErrors(400, 404, 413, 415, 429)
  submit(@CurrentUser() caller: Caller, @Body({ schema: submitJobBody }) body: SubmitJobBody): Promise<JobView> {
    return this.jobs.submit(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'List your jobs', description: 'Newest first; filter by `status` or `conversation_id`.' })
  @ApiOk(jobList)
  @ApiErrors(400)
  list(@CurrentUser() caller: Caller, @Query({ schema: listJobsQuery }) query: ListJobsQuery): Promise<ListPage<JobView>> {
    return this.jobs.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a job, with its result once it has one' })
  @ApiOk(jobView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: jobIdParams }) { id }: JobIdParams): Promise<JobView> {
    return this.jobs.get(caller, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel a job',
    description:
      'A queued job is cancelled at once; a running one stops within moments (its partial answer is kept as with an aborted /chat). 409 once finished.',
  })
  @ApiOk(jobView)
  @ApiErrors(400, 404, 409)
  cancel(@CurrentUser() caller: Caller, @Param({ schema: jobIdParams }) { id }: JobIdParams): Promise<JobView> {
    return this.jobs.cancel(caller, id);
  }
}
