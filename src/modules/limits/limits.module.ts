import { Module, type OnModuleInit } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../../config/app-config.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { LOGGER } from '../../common/logging/logger.token.js';
import { RedisService } from '../../redis/redis.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { AuthModule } from '../auth/auth.module.js';
import { UsersModule } from '../users/users.module.js';
import { UsersService } from '../users/users.service.js';
import { BudgetLedgerRepository } from './budget-ledger.repository.js';
import { LimitsService } from './limits.service.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { SharedRateLimitStore } from './shared-rate-limit-store.js';

@Module({
  imports: [
    UsersModule,
    AuthModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisService, LOGGER],
      useFactory: (config: AppConfig, redis: RedisService, logger: AppLogger) => ({
        throttlers: [{ name: 'requests', ttl: 60_000, limit: config.limits.rate.rpm }],
        storage: new SharedRateLimitStore(redis, config.redis.failOpen, logger),
      }),
    }),
  ],
  providers: [BudgetLedgerRepository, LimitsService, RateLimitGuard],
  exports: [LimitsService, RateLimitGuard, ThrottlerModule],
})
export class LimitsModule implements OnModuleInit {
  constructor(
    private readonly limits: LimitsService,
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
  ) {}

  /** A changed budget starts afresh from the usage records. */
  onModuleInit(): void {
    this.users.onUserChanged((id) => this.limits.resetBudget('user', id));
    this.keys.onKeyChanged((id) => this.limits.resetBudget('key', id));
  }
}
