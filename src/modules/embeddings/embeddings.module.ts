import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { MeteringModule } from '../../metering/metering.module.js';
import { AccessModule } from '../access/access.module.js';
import { EmbeddingsController } from './embeddings.controller.js';
import { EmbeddingsService } from './embeddings.service.js';

@Module({
  imports: [LlmModule, MeteringModule, AccessModule],
  controllers: [EmbeddingsController],
  providers: [EmbeddingsService],
  exports: [EmbeddingsService],
})
export class EmbeddingsModule {}
