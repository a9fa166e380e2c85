import { Module } from '@nestjs/common';
import { MeteringModule } from '../../metering/metering.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { AuthGuard } from './auth.guard.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RequestPolicy } from './request-policy.service.js';

/** The request policy shared by HTTP (as guards) and the WebSocket: authentication, roles, requests per minute. */
@Module({
  imports: [AuthModule, MeteringModule],
  providers: [RequestPolicy, AuthGuard, RateLimitGuard],
  exports: [RequestPolicy, AuthGuard, RateLimitGuard],
})
export class AccessModule {}
