import { Module } from '@nestjs/common';
import { UsageRecorder } from './usage-recorder.service.js';
import { UsageRepository } from './usage.repository.js';

@Module({
  providers: [UsageRepository, UsageRecorder],
  exports: [UsageRecorder],
})
export class UsageModule {}
