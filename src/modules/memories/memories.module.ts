import { Module } from '@nestjs/common';
import { MemoriesController } from './memories.controller.js';
import { MemoriesRepository } from './memories.repository.js';
import { MemoriesService } from './memories.service.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [PersistenceModule, LlmModule],
  controllers: [MemoriesController],
  providers: [MemoriesRepository, MemoriesService],
  exports: [MemoriesService],
})
export class MemoriesModule {}
