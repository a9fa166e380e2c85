import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ADMIN_ROUTE, PUBLIC_ROUTE } from '../../common/http/route-access.js';
import { RequestPolicy } from './request-policy.service.js';

/** Global: every route needs a valid bearer key unless marked @Public(); @AdminOnly() needs the admin role. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly policy: RequestPolicy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const admin = this.reflector.getAllAndOverride<boolean>(ADMIN_ROUTE, targets) === true;
    request.caller = await this.policy.authenticate(request.headers.authorization, { admin });
    return true;
  }
}
