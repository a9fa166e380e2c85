import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogger } from '../logging/logger.js';
import { InjectLogger } from '../logging/logger.token.js';
import { toHttpError } from './error-table.js';
import { ErrorTranslator } from './error-translator.js';

/**
 * The one error filter of the application: every error on every route (including unknown
 * routes and body-parsing failures, which Nest routes here too) leaves as OpenAI's envelope.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(
    @InjectLogger() private readonly logger: AppLogger,
    private readonly translator: ErrorTranslator,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const mapped = toHttpError(this.translator.domain(err));
    if (mapped.unexpected) {
      this.logger.error({ reqId: request?.id, err }, 'unhandled error');
    }
    // A stream that already started cannot change its status; the SSE helper reports in-band.
    if (reply.sent || reply.raw.headersSent) {
      if (!reply.raw.writableEnded) reply.raw.end();
      return;
    }
    reply.headers(mapped.headers).status(mapped.status).send(mapped.body);
  }
}
