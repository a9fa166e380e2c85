import { Module, type OnModuleInit } from '@nestjs/common';
import type { AppLogger } from '../common/logging/logger.js';
import { LOGGER } from '../common/logging/logger.token.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ApiKeysService } from '../modules/auth/api-keys.service.js';
import { AuthModule } from '../modules/auth/auth.module.js';
import { UsersModule } from '../modules/users/users.module.js';
import { UsersService } from '../modules/users/users.service.js';
import { PersistenceModule } from '../persistence/persistence.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { RedisService } from '../redis/redis.service.js';
import { UsageRecorder } from './ledger/usage-recorder.service.js';
import { UsageRepository } from './ledger/usage.repository.js';
import { UsageStore } from './ledger/usage-store.js';
import { BudgetLedger } from './limits/budget-ledger.js';
import { BudgetLedgerRepository } from './limits/budget-ledger.repository.js';
import { LimitsService } from './limits/limits.service.js';
import { RateLimitStore } from './limits/rate-limit-store.js';
import { RequestRateLimiter } from './limits/request-rate-limiter.js';
import { SharedRateLimitStore } from './limits/shared-rate-limit-store.js';
import { Metering } from './metering.service.js';
import { LlmModule } from '../llm/llm.module.js';

/**
 * The metering core: limits (requests and tokens per minute, budgets), the usage ledger, and
 * the Metering service every upstream call is admitted and settled through.
 */
@Module({
  imports: [LlmModule, PersistenceModule, RedisModule, MetricsModule, UsersModule, AuthModule],
  providers: [
    {
      provide: RateLimitStore,
      inject: [AppConfig, RedisService, LOGGER],
      useFactory: (config: AppConfig, redis: RedisService, logger: AppLogger) => new SharedRateLimitStore(redis, config.redis.failOpen, logger),
    },
    { provide: BudgetLedger, useClass: BudgetLedgerRepository },
    LimitsService,
    RequestRateLimiter,
    { provide: UsageStore, useClass: UsageRepository },
    UsageRecorder,
    Metering,
  ],
  exports: [Metering, RequestRateLimiter, RateLimitStore, UsageRecorder],
})
export class MeteringModule implements OnModuleInit {
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
