import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

export const errorEnvelope = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .meta({ id: 'Error', description: "OpenAI's error envelope." });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the message names the field in `param`).',
  401: 'Missing, unknown or revoked API key.',
  403: 'The key may not use this route, or its account is disabled (`account_disabled`).',
  404: 'No such resource, or it is not yours.',
  409: 'Conflicts with the current state.',
  413: 'Body or file larger than the configured limit.',
  415: 'Content type not accepted.',
  422: 'Well-formed but cannot be processed.',
  429: 'Rate limit (`rate_limit_exceeded`, with retry-after) or budget (`insufficient_quota`).',
  500: 'Unexpected server error (nothing internal is revealed).',
  502: 'The upstream model provider answered badly.',
  503: 'A dependency (database, storage, upstream) is unavailable.',
  504: 'The upstream model provider timed out.',
};

/** Documents the error responses of a route with the shared envelope. */
export function ApiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...[...new Set([401, 500, ...statuses])].map((status) =>
      ApiResponse({ status, description: ERROR_DESCRIPTIONS[status] ?? 'Error', standardSchema: errorEnvelope }),
    ),
  );
}

/** The one error a route that needs nothing can answer: a request arriving while the server shuts down. */
export function ApiShuttingDown(): MethodDecorator {
  return ApiResponse({
    status: 503,
    description: 'The server is shutting down (`shutting_down`, with retry-after): retry, another instance answers.',
    standardSchema: errorEnvelope,
  });
}

/** Documents the success response of a route with a zod schema. */
export function ApiOk(schema: z.ZodType, status = 200, description = 'OK'): MethodDecorator {
  return applyDecorators(ApiResponse({ status, description, standardSchema: schema }));
}
