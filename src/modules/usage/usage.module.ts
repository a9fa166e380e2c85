import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller.js';
import { UsageReportRepository } from './usage-report.repository.js';
import { StatsService } from './stats.service.js';
import { UsageRecorder } from './usage-recorder.service.js';
import { UsageRepository } from './usage.repository.js';

@Module({
  controllers: [StatsController],
  providers: [UsageRepository, UsageRecorder, UsageReportRepository, StatsService],
  exports: [UsageRecorder],
})
export class UsageModule {}
