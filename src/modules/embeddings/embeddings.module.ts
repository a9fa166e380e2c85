import { Module } from '@nestjs/common';
import { LimitsModule } from '../limits/limits.module.js';
import { UsageModule } from '../usage/usage.module.js';
import { EmbeddingsController } from './embeddings.controller.js';
import { EmbeddingsService } from './embeddings.service.js';

@Module({
  imports: [UsageModule, LimitsModule],
  controllers: [EmbeddingsController],
  providers: [EmbeddingsService],
})
export class EmbeddingsModule {}
