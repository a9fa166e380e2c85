import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** What the document states about the running server; plain values, as common/ reads no config. */
export interface SwaggerOptions {
  version: string;
}

/**
 * Swagger UI at /docs and the OpenAPI 3 document at /docs-json, built from the zod schemas on the
 * first request for it (then kept): a server nobody reads the docs of never holds the document.
 */
export function setupSwagger(app: INestApplication, options: SwaggerOptions): void {
  const document = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Colloquy')
        .setDescription(
          'Self-hosted, OpenAI-compatible multimodal chat backend. Authenticate with `Authorization: Bearer <key>` ' +
            '(the first admin key is printed once at first start, or set with COLLOQUY_ADMIN_KEY), or with the session cookie of POST /auth/login. ' +
            'Every error uses OpenAI\'s envelope `{"error":{"message","type","param","code"}}` and every ' +
            'response carries `x-request-id`.',
        )
        .setVersion(options.version)
        .addTag(
          'Compatibility',
          'Routes of the systems Colloquy replaces, as thin adapters over the same services (admitted, metered and stored alike): ' +
            "Luma's /chat/completion and /chat/stream; Smart-Host's /embed, /image and /memory/*; Llamalith's /chat/api/*. " +
            "Smart-Host's /chat body, /tools and /call_tool, TextLLM's routes and LuminaryChat's /v1 are the native routes; " +
            "Smart-Host's WebSocket is GET /ws_chat (its /chat body in, text deltas then `[END]` out). " +
            'A conversation key (`story-123`) works wherever a conversation id does.',
        )
        .addTag(
          'Auth',
          'Sign-in for browsers: a password or an API key exchanged for the `colloquy_session` cookie (HttpOnly, SameSite=Strict), which every route ' +
            'accepts as it accepts the bearer key; cookie-authenticated requests other than GET, HEAD and OPTIONS send `x-csrf-token`. ' +
            '5 failed sign-ins a minute per account or client IP, then 429. Sessions last SESSION_TTL_HOURS (12) from their last use.',
        )
        .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A Colloquy API key (cq_…).' })
        .addCookieAuth('colloquy_session', { type: 'apiKey', in: 'cookie', description: 'The sign-in session of POST /auth/login.' })
        .build(),
    );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });
}
