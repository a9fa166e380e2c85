import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../common/errors/domain-error.js';
import { ADMIN_ROUTE, PUBLIC_ROUTE } from '../../common/http/route-access.js';
import { AdminBootstrap } from './admin-bootstrap.service.js';
import { ApiKeysService } from './api-keys.service.js';

/** Global: every route needs a valid bearer key unless marked @Public(); @AdminOnly() needs the admin role. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly bootstrap: AdminBootstrap,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    if (!this.bootstrap.ready) {
      throw new DomainError('unavailable', 'The server is starting; retry in a moment.', { retryAfterSeconds: 1 });
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = await this.keys.authenticate(request.headers.authorization);
    request.caller = caller;
    if (this.reflector.getAllAndOverride<boolean>(ADMIN_ROUTE, targets) && caller.role !== 'admin') {
      throw new DomainError('forbidden', 'This route needs an admin key.', { code: 'admin_required' });
    }
    return true;
  }
}
