import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_ROUTE, GUEST_ROUTE, PUBLIC_ROUTE } from '../../common/http/route-access.js';
import { csrfTokenFrom } from '../sign-in/session-cookie.js';
import { RequestPolicy } from './request-policy.service.js';

/** The methods that change nothing: a cookie caller needs no CSRF token for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Global: every route needs a valid bearer key, or a sign-in session cookie when there is no
 * Authorization header (with `x-csrf-token` on methods other than GET, HEAD and OPTIONS), unless
 * marked @Public(); @AdminOnly() needs the admin role. With guest access on, a request with no
 * Authorization header and no session cookie at all (an empty or malformed one is still a 401) is the guest (on every user route, or with `guest.scope: stateless` on the
 * @GuestAllowed() ones), and has one request charged here, on every route, to its client IP's
 * window and the guest's.
 */
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
    const { authorization, session } = this.policy.credentialsOf(request.headers.authorization, request.headers.cookie);
    if (authorization === undefined && session === undefined && this.policy.guestAccess) {
      const stateless = this.reflector.getAllAndOverride<boolean>(GUEST_ROUTE, targets) === true;
      request.caller = await this.policy.authenticateGuest(request.ip, { admin, stateless });
      context
        .switchToHttp()
        .getResponse<FastifyReply>()
        .headers(await this.policy.chargeRequest(request.caller));
      return true;
    }
    const csrf = session !== undefined && !SAFE_METHODS.has(request.method) ? { presented: csrfTokenFrom(request.headers) } : undefined;
    request.caller = await this.policy.authenticate({ authorization, session }, { admin, csrf });
    return true;
  }
}
