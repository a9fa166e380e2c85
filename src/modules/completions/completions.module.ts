import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module.js';
import { LimitsModule } from '../limits/limits.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { CompletionRunner } from './completion-runner.js';
import { CompletionsController } from './completions.controller.js';
import { CompletionsService } from './completions.service.js';
import { MeteredCall } from './metered-call.js';

@Module({
  imports: [UsageModule, FilesModule, LimitsModule],
  controllers: [CompletionsController],
  providers: [CompletionRunner, CompletionsService, MeteredCall],
  exports: [CompletionRunner, MeteredCall],
})
export class CompletionsModule {}
