import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error.js';
import type { Caller } from './caller.js';

/** The authenticated caller of the request (set by the global auth guard). */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<FastifyRequest>().caller;
  if (!caller) throw new DomainError('unauthenticated', 'Missing API key.');
  return caller;
});
