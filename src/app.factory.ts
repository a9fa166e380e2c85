import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppModule, type AppRuntimeOptions } from './app.module.js';
import { DomainError } from './common/errors/domain-error.js';
import { toHttpError } from './common/errors/error-table.js';
import { answerClientError, lingerAfterResponse } from './common/http/connections.js';
import { setupSwagger } from './common/http/swagger.js';
import { registerWebUi } from './common/http/web-ui.js';
import { MetricsService } from './metrics/metrics.service.js';
import { ChatSocket } from './modules/chat/chat-socket.js';
import { type AppLogger, createAccessLogger, NestPinoLogger } from './common/logging/logger.js';
import type { AppConfig } from './config/app-config.js';

/** Response headers browsers may read across origins. */
const EXPOSED_HEADERS = [
  'x-request-id',
  'x-conversation-id',
  'x-session-id',
  'retry-after',
  'x-should-retry',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
  'content-disposition',
];

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** How often Node looks for requests over their timeout (its default, 30 s, would stretch the bound). */
const CONNECTIONS_CHECK_MS = 1_000;

/**
 * Nest sends whatever a handler returns. A streamed answer has taken the response over already
 * (hijacked): there is nothing left to send, and Fastify would build (with its stack trace) an
 * "already sent" error on every stream to say so.
 */
class StreamAwareFastifyAdapter extends FastifyAdapter {
  override reply(response: FastifyReply, body: unknown, statusCode?: number): FastifyReply {
    if (response.sent === true && body === undefined) return response;
    return super.reply(response, body, statusCode);
  }
}

/** Builds the whole HTTP application (not yet listening); main.ts and the tests share it. */
export async function createApp(config: AppConfig, logger: AppLogger, runtime: AppRuntimeOptions = {}): Promise<NestFastifyApplication> {
  const requestTimeout = config.http.requestTimeoutMs;
  const adapter = new StreamAwareFastifyAdapter({
    bodyLimit: config.http.maxBodyBytes,
    trustProxy: config.http.trustProxy,
    // Keep a well-formed incoming id so a request can be followed across services.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    logger: false,
    // During shutdown new requests get our own 503 envelope (see onRequest below), not Fastify's.
    return503OnClosing: false,
    // The time a client may take to send a request (headers and body). Node counts it only until
    // the request is in: streamed answers and upgraded WebSockets are not limited by it.
    requestTimeout,
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    clientErrorHandler: answerClientError,
    multipart: {
      limits: {
        fileSize: config.limits.maxFileBytes,
        files: config.limits.maxFilesPerRequest,
        fieldSize: config.http.maxBodyBytes,
        fields: 100,
        parts: config.limits.maxFilesPerRequest + 100,
      },
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger, runtime), adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    // Fastify's own JSON parser is all we accept; Nest would add urlencoded forms.
    bodyParser: false,
  });

  const fastify = app.getHttpAdapter().getInstance();
  // Bodies are JSON (or multipart where a route says so); anything else is a 415, not a 400.
  fastify.removeContentTypeParser(['text/plain']);
  const metrics = app.get(MetricsService);
  const accessLog = createAccessLogger(logger);
  // Graceful shutdown: responses finishing after close began end their connection, so that a
  // kept-alive socket does not hold the server open once its last request is answered.
  let closing = false;
  fastify.decorate('isClosing', () => closing);
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', async (request, reply) => {
    request.startedAt = process.hrtime.bigint();
    reply.header('x-request-id', request.id);
    // On the raw response, so that streams (which take the reply over) are logged and counted too.
    reply.raw.once('close', () => {
      const route = request.routeOptions.url ?? 'unmatched';
      const status = reply.raw.statusCode;
      const ms = elapsedMs(request);
      metrics.httpRequests.inc({ method: request.method, route, status });
      metrics.httpDuration.observe({ method: request.method, route, status }, ms / 1000);
      accessLog.info(
        {
          reqId: request.id,
          method: request.method,
          route,
          status,
          ms,
          userId: request.caller?.userId,
          aborted: !reply.raw.writableFinished || undefined,
        },
        'request',
      );
    });
    // A request arriving on a kept-alive connection once shutdown began: another replica answers it.
    if (closing) {
      const http = toHttpError(new DomainError('unavailable', 'The server is shutting down; retry the request.', { code: 'shutting_down' }));
      return reply
        .code(http.status)
        .headers({ ...http.headers, 'retry-after': '1', connection: 'close' })
        .send(http.body);
    }
  });
  fastify.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
    // Answered before the body was in (413 on its length, 415, 404…): close without reading the
    // rest of an unbounded body, but linger so that a client still sending reads this answer.
    if (!request.raw.complete) {
      reply.header('connection', 'close');
      lingerAfterResponse(request.raw.socket);
    }
  });

  // Without allowed origins there is no CORS at all (not a hook that answers "no" on every request).
  if (config.http.corsOrigins.length) {
    app.enableCors({
      origin: corsOrigin(config.http.corsOrigins),
      exposedHeaders: EXPOSED_HEADERS,
      allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'openai-organization', 'openai-project'],
      maxAge: 600,
    });
  }
  app.useSecurityHeaders({
    // Swagger UI needs its own inline styles and scripts; everything else is JSON or SSE.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        // Added per request below, over HTTPS only: sent over plain HTTP it makes a browser fetch
        // every asset of /docs over an HTTPS that is not there (a blank page from another machine).
        upgradeInsecureRequests: null,
      },
    },
  });
  fastify.addHook('onSend', async (request, reply) => {
    if (request.protocol !== 'https') return;
    const csp = reply.raw.getHeader('content-security-policy') ?? reply.getHeader('content-security-policy');
    if (typeof csp === 'string' && !csp.includes('upgrade-insecure-requests')) {
      reply.header('content-security-policy', `${csp};upgrade-insecure-requests`);
    }
  });
  setupSwagger(app, { version: config.version });
  await registerWebUi(fastify, join(config.rootDir, 'dist', 'ui'));
  await app.get(ChatSocket).register(fastify);
  await app.init();
  return app;
}

function corsOrigin(origins: string[]): true | string[] {
  return origins.includes('*') ? true : origins;
}

function elapsedMs(request: FastifyRequest): number {
  return request.startedAt ? Number(process.hrtime.bigint() - request.startedAt) / 1e6 : 0;
}
