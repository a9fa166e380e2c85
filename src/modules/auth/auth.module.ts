import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AdminBootstrap } from './admin-bootstrap.service.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { GuestAccess } from './guest-access.service.js';
import { MeController } from './me.controller.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { RedisModule } from '../../redis/redis.module.js';

@Module({
  imports: [PersistenceModule, RedisModule, UsersModule],
  controllers: [ApiKeysController, MeController],
  providers: [ApiKeysRepository, ApiKeysService, AdminBootstrap, GuestAccess],
  exports: [ApiKeysService, AdminBootstrap, GuestAccess],
})
export class AuthModule {}
