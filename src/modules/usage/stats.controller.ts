import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { ownerParams, type OwnerParams } from '../../common/http/ownership.js';
import { StatsService } from './stats.service.js';
import { userStatsView, type UserStatsView } from './usage.schemas.js';

@ApiTags('Usage')
@ApiBearerAuth()
@Controller('users')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get(':id/stats')
  @ApiOperation({
    summary: "A user's totals",
    description: '`me` for the caller; admins may name any user. Token and cost figures are sums of the usage records.',
  })
  @ApiOk(userStatsView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: ownerParams }) { id }: OwnerParams): Promise<UserStatsView> {
    return this.stats.forUser(caller, id);
  }
}
