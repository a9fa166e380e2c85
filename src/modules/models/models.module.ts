import { Module } from '@nestjs/common';
import { ModelsController } from './models.controller.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [LlmModule],
  controllers: [ModelsController],
})
export class ModelsModule {}
