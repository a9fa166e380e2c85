import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { StorageModule } from '../../storage/storage.module.js';
import { RedisModule } from '../../redis/redis.module.js';
import { ToolsModule } from '../tools/tools.module.js';
import { LlmModule } from '../../llm/llm.module.js';

@Module({
  imports: [PersistenceModule, StorageModule, RedisModule, AuthModule, ToolsModule, LlmModule],
  controllers: [HealthController],
  providers: [HealthService],
})
export class HealthModule {}
