import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestPolicy } from './request-policy.service.js';

/**
 * Requests per minute on the routes that call models: one request charged to the caller's
 * windows, and OpenAI's x-ratelimit-*-requests headers on every response of the route,
 * refusals included. Guests were charged by the auth guard already (every guest request counts).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly policy: RequestPolicy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (request.caller && request.caller.guestIp === undefined) reply.headers(await this.policy.chargeRequest(request.caller));
    return true;
  }
}
