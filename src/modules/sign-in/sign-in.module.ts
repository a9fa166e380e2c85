import { Module } from '@nestjs/common';
import { MeteringModule } from '../../metering/metering.module.js';
import { PersistenceModule } from '../../persistence/persistence.module.js';
import { RedisModule } from '../../redis/redis.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { UsersModule } from '../users/users.module.js';
import { LoginSessionsRepository } from './login-sessions.repository.js';
import { LoginSessions } from './login-sessions.service.js';
import { LoginThrottle } from './login-throttle.js';
import { SignInController } from './sign-in.controller.js';
import { SignInService } from './sign-in.service.js';

/** Browser sign-in: passwords and API keys exchanged for a session cookie, its CSRF token, sign-out. */
@Module({
  imports: [PersistenceModule, RedisModule, UsersModule, AuthModule, MeteringModule],
  controllers: [SignInController],
  providers: [LoginSessionsRepository, LoginSessions, LoginThrottle, SignInService],
  exports: [LoginSessions],
})
export class SignInModule {}
