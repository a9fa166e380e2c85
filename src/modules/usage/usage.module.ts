import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { StatsController } from './stats.controller.js';
import { StatsService } from './stats.service.js';
import { UsageReportRepository } from './usage-report.repository.js';

/** Reports: GET /usage and GET /users/{id}/stats, read from the usage records the metering core writes. */
@Module({
  imports: [PersistenceModule],
  controllers: [StatsController],
  providers: [UsageReportRepository, StatsService],
})
export class UsageModule {}
