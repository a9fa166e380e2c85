import { Module } from '@nestjs/common';
import { LlmModule } from '../../llm/llm.module.js';
import { AccessModule } from '../access/access.module.js';
import { CompletionsModule } from '../completions/completions.module.js';
import { ConversationsModule } from '../conversations/conversations.module.js';
import { EmbeddingsModule } from '../embeddings/embeddings.module.js';
import { ImagesModule } from '../images/images.module.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { MemoriesModule } from '../memories/memories.module.js';
import { LlamalithController } from './llamalith/llamalith.controller.js';
import { LlamalithService } from './llamalith/llamalith.service.js';
import { LumaController } from './luma/luma.controller.js';
import { LumaService } from './luma/luma.service.js';
import { SmartHostController } from './smart-host/smart-host.controller.js';
import { SmartHostService } from './smart-host/smart-host.service.js';

/**
 * The routes of the systems Colloquy replaces (Luma, Smart-Host, Llamalith), each a thin adapter
 * over the services the rest of the API uses: the same admission, metering and storage.
 */
@Module({
  imports: [LlmModule, AccessModule, CompletionsModule, ConversationsModule, EmbeddingsModule, ImagesModule, JobsModule, MemoriesModule],
  controllers: [LumaController, SmartHostController, LlamalithController],
  providers: [LumaService, SmartHostService, LlamalithService],
})
export class CompatModule {}
