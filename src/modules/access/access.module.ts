import { Module } from '@nestjs/common';
import { MeteringModule } from '../../metering/metering.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { SignInModule } from '../sign-in/sign-in.module.js';
import { AuthGuard } from './auth.guard.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RequestPolicy } from './request-policy.service.js';

/** The request policy shared by HTTP (as guards) and the WebSocket: authentication (bearer key or sign-in cookie), roles, requests per minute. */
@Module({
  imports: [AuthModule, SignInModule, MeteringModule],
  providers: [RequestPolicy, AuthGuard, RateLimitGuard],
  exports: [RequestPolicy, AuthGuard, RateLimitGuard],
})
export class AccessModule {}
