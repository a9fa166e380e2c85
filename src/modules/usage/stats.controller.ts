import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { ownerParams, type OwnerParams } from '../../common/http/ownership.js';
import { StatsService } from './stats.service.js';
import { usageQuery, usageReportView, userStatsView, type UsageQuery, type UsageReportView, type UserStatsView } from './usage.schemas.js';

@ApiTags('Usage')
@ApiBearerAuth()
@Controller()
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('users/:id/stats')
  @ApiOperation({
    summary: "A user's totals",
    description: '`me` for the caller; admins may name any user. Token and cost figures are sums of the usage records.',
  })
  @ApiOk(userStatsView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: ownerParams }) { id }: OwnerParams): Promise<UserStatsView> {
    return this.stats.forUser(caller, id);
  }

  @Get('usage')
  @ApiOperation({
    summary: 'Usage report',
    description:
      'Totals and rows grouped by `day`, `model`, `key`, `session` or `end_user` between `from` and `to`. Yours; admins ' +
      'see everyone, or one user with `user_id`. The figures are sums of the usage records, one per upstream call.',
  })
  @ApiOk(usageReportView)
  @ApiErrors(400, 404)
  report(@CurrentUser() caller: Caller, @Query({ schema: usageQuery }) query: UsageQuery): Promise<UsageReportView> {
    return this.stats.report(caller, query);
  }
}
