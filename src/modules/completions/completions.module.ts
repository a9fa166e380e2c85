import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { MeteringModule } from '../../metering/metering.module.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { AccessModule } from '../access/access.module.js';
import { FilesModule } from '../files/files.module.js';
import { CompletionRunner } from './completion-runner.js';
import { CompletionsController } from './completions.controller.js';
import { CompletionsService } from './completions.service.js';

@Module({
  imports: [LlmModule, MetricsModule, MeteringModule, AccessModule, FilesModule],
  controllers: [CompletionsController],
  providers: [CompletionRunner, CompletionsService],
  exports: [CompletionRunner, CompletionsService],
})
export class CompletionsModule {}
