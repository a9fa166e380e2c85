import { HttpException } from '@nestjs/common';
import { DomainError, fromErrorRecord, type ErrorKind, type ErrorRecord } from './domain-error.js';

interface KindMapping {
  status: number;
  type: string;
  code: string | null;
}

/** The one place an error kind becomes an HTTP status and an OpenAI error type. Exhaustive. */
export const ERROR_TABLE: Record<ErrorKind, KindMapping> = {
  invalid: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  unauthenticated: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  forbidden: { status: 403, type: 'permission_error', code: 'forbidden' },
  not_found: { status: 404, type: 'invalid_request_error', code: 'not_found' },
  conflict: { status: 409, type: 'invalid_request_error', code: 'conflict' },
  too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  unsupported_media: { status: 415, type: 'invalid_request_error', code: 'unsupported_media_type' },
  unprocessable: { status: 422, type: 'invalid_request_error', code: 'unprocessable_entity' },
  rate_limited: { status: 429, type: 'requests', code: 'rate_limit_exceeded' },
  quota_exceeded: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' },
  upstream_rejected: { status: 400, type: 'invalid_request_error', code: 'upstream_rejected' },
  upstream_error: { status: 502, type: 'api_error', code: 'upstream_error' },
  upstream_unavailable: { status: 503, type: 'api_error', code: 'upstream_unavailable' },
  upstream_timeout: { status: 504, type: 'api_error', code: 'upstream_timeout' },
  unavailable: { status: 503, type: 'server_error', code: 'service_unavailable' },
  internal: { status: 500, type: 'server_error', code: 'internal_error' },
};

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface HttpErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** True when the error was not anticipated: log it with its stack. */
  unexpected: boolean;
}

const STATUS_KIND: Record<number, ErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media',
  422: 'unprocessable',
  429: 'rate_limited',
  502: 'upstream_error',
  503: 'unavailable',
  504: 'upstream_timeout',
};

/** What a body over MAX_BODY_MB is told, on HTTP and on the chat socket alike. */
export const BODY_TOO_LARGE_MESSAGE = 'Request body is larger than the configured limit.';

/** Fastify and plugin error codes that can reach the client before a route runs. */
const FASTIFY_CODES: Record<string, { kind: ErrorKind; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'too_large', message: BODY_TOO_LARGE_MESSAGE },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'unsupported_media' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'invalid', message: 'Content-Length does not match the body.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'invalid', message: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'invalid' },
  FST_REQ_FILE_TOO_LARGE: { kind: 'too_large', message: 'A file is larger than the configured limit.' },
  FST_FILES_LIMIT_REACHED: { kind: 'too_large', message: 'Too many files in one request.' },
  FST_PARTS_LIMIT_REACHED: { kind: 'too_large', message: 'Too many parts in one request.' },
  FST_FIELDS_LIMIT_REACHED: { kind: 'too_large', message: 'Too many fields in one request.' },
  FST_PROTO_VIOLATION: { kind: 'invalid' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { kind: 'unsupported_media', message: 'The request is not multipart/form-data.' },
  FST_ERR_CTP_INVALID_TYPE: { kind: 'unsupported_media' },
};

/**
 * The one place an error becomes what the client receives: status, envelope and headers. An
 * infrastructure error reads as the client should see it once an ErrorTranslator turned it into
 * a DomainError (the filter and the socket gateway do that first).
 */
export function toHttpError(err: unknown): HttpErrorResponse {
  if (err instanceof DomainError) return fromDomain(err);
  // Nest wraps Fastify's own 4xx errors in an HttpException: read the Fastify error inside.
  if (err instanceof HttpException && fastifyCode(err.cause)) err = err.cause;

  const code = fastifyCode(err);
  if (code) {
    const { kind, message } = FASTIFY_CODES[code];
    return fromDomain(new DomainError(kind, message ?? cleanFastifyMessage(err)));
  }
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return fromDomain(new DomainError('invalid', `The body is not valid JSON: ${err.message}`));
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const kind = STATUS_KIND[status] ?? (status >= 500 ? 'internal' : 'invalid');
    const message = status === 404 ? routeNotFound(err) : httpExceptionMessage(err);
    return fromDomain(new DomainError(kind, message), status >= 500 && kind === 'internal');
  }
  const statusCode = (err as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && STATUS_KIND[statusCode]) {
    return fromDomain(new DomainError(STATUS_KIND[statusCode], cleanFastifyMessage(err)));
  }
  return fromDomain(new DomainError('internal', 'The server had an error while processing your request.'), true);
}

/** The error's code when it is one of Fastify's that FASTIFY_CODES maps. */
function fastifyCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code in FASTIFY_CODES ? code : null;
}

function fromDomain(err: DomainError, unexpected = false): HttpErrorResponse {
  const mapping = ERROR_TABLE[err.kind];
  let status = mapping.status;
  if (err.kind === 'upstream_rejected' && err.status && err.status >= 400 && err.status < 500) status = err.status;
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(err.retryAfterSeconds)));
  if (err.retryable === false) headers['x-should-retry'] = 'false';
  return {
    status,
    headers,
    unexpected: unexpected || err.kind === 'internal',
    body: {
      ...err.details,
      error: {
        message: err.message,
        type: err.type ?? mapping.type,
        param: err.param,
        code: err.code === undefined ? mapping.code : err.code,
      },
    },
  };
}

function routeNotFound(err: HttpException): string {
  const message = httpExceptionMessage(err);
  // Nest's unknown-route message is "Cannot GET /x"; say it the way OpenAI does.
  const match = /^Cannot (\w+) (.+)$/.exec(message);
  return match ? `Unknown request URL: ${match[1]} ${match[2]}.` : message;
}

function httpExceptionMessage(err: HttpException): string {
  const response = err.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : err.message;
}

function cleanFastifyMessage(err: unknown): string {
  const message = (err as Error)?.message ?? 'Bad request';
  return message.replace(/^FST_\w+:\s*/, '');
}

/** A kept error (a job's failure) as clients read it: its HTTP status and OpenAI's error object. */
export function errorView(record: ErrorRecord | { status: number }): ErrorBody['error'] & { status: number } {
  // Jobs that failed before errors were kept as records carry their HTTP form already.
  if (!('kind' in record)) return record as ErrorBody['error'] & { status: number };
  const http = fromDomain(fromErrorRecord(record));
  return { status: http.status, ...http.body.error };
}
