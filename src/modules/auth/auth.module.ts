import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AdminBootstrap } from './admin-bootstrap.service.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { MeController } from './me.controller.js';

@Module({
  imports: [UsersModule],
  controllers: [ApiKeysController, MeController],
  providers: [ApiKeysRepository, ApiKeysService, AdminBootstrap],
  exports: [ApiKeysService, AdminBootstrap],
})
export class AuthModule {}
