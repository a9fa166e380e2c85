import { Module } from '@nestjs/common';
import { AccessModule } from '../access/access.module.js';
import { CompletionsModule } from '../completions/completions.module.js';
import { LumaController } from './luma/luma.controller.js';
import { LumaService } from './luma/luma.service.js';

/**
 * The routes of the systems Colloquy replaces (Luma, Smart-Host, Llamalith), each a thin adapter
 * over the services the rest of the API uses: the same admission, metering and storage.
 */
@Module({
  imports: [AccessModule, CompletionsModule],
  controllers: [LumaController],
  providers: [LumaService],
})
export class CompatModule {}
