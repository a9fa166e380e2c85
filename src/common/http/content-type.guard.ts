import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error.js';
import { MULTIPART_ROUTE } from './route-access.js';

/** A multipart body sent to a route that does not read one is a 415, not a confusing 400. */
@Injectable()
export class ContentTypeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const type = request.headers['content-type'];
    if (!type || !type.toLowerCase().startsWith('multipart/')) return true;
    if (this.reflector.getAllAndOverride<boolean>(MULTIPART_ROUTE, [context.getHandler(), context.getClass()])) return true;
    throw new DomainError('unsupported_media', 'This route takes a JSON body, not multipart/form-data.');
  }
}
