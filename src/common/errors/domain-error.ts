/**
 * What went wrong, in the product's terms. Services throw these; the one global filter turns
 * them into HTTP statuses and OpenAI's error envelope through ERROR_TABLE.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media'
  | 'unprocessable'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'upstream_rejected'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'unavailable'
  | 'internal';

export interface DomainErrorOptions {
  /** The request field at fault, in OpenAI's `param` (for example `messages.0.content`). */
  param?: string | null;
  /** A machine-readable code; each kind has a default. */
  code?: string | null;
  /** Overrides the kind's error `type` (for example `tokens` for a token rate limit). */
  type?: string;
  /** Only for upstream_rejected: the upstream's own 4xx status, kept for the client. */
  status?: number;
  /** Seconds the client should wait before retrying (sets `retry-after`). */
  retryAfterSeconds?: number;
  /** false when a retry cannot help (sets `x-should-retry: false`). */
  retryable?: boolean;
  /** More response headers (the rate-limit state that led to a 429). */
  headers?: Record<string, string>;
  /** More top-level fields of the response body beside `error` (readiness adds its per-dependency report). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly param: string | null;
  readonly code: string | null | undefined;
  readonly type: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly retryable: boolean | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param ?? null;
    this.code = options.code;
    this.type = options.type;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.retryable = options.retryable;
    this.headers = options.headers;
    this.details = options.details;
  }
}

/** The same error with more response headers (the rate-limit state of the call that failed). */
export function withHeaders(err: DomainError, headers: Record<string, string>): DomainError {
  if (!Object.keys(headers).length) return err;
  return new DomainError(err.kind, err.message, {
    param: err.param,
    code: err.code,
    type: err.type,
    status: err.status,
    retryAfterSeconds: err.retryAfterSeconds,
    retryable: err.retryable,
    headers: { ...headers, ...err.headers },
    details: err.details,
    cause: err.cause,
  });
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}

/** A DomainError as data, for an error kept to be answered later (a background job's failure). */
export interface ErrorRecord {
  kind: ErrorKind;
  message: string;
  param: string | null;
  /** Absent: the kind's default code (as the DomainError had none of its own). */
  code?: string | null;
  type?: string;
  /** Only for upstream_rejected: the upstream's own 4xx status. */
  status?: number;
}

/** The record of an error; one that is not a DomainError is kept as an internal error that says nothing. */
export function errorRecord(err: unknown): ErrorRecord {
  if (!(err instanceof DomainError)) return { kind: 'internal', message: 'The server had an error while processing your request.', param: null };
  return {
    kind: err.kind,
    message: err.message,
    param: err.param,
    ...(err.code !== undefined ? { code: err.code } : {}),
    ...(err.type ? { type: err.type } : {}),
    ...(err.status ? { status: err.status } : {}),
  };
}

export function fromErrorRecord(record: ErrorRecord): DomainError {
  return new DomainError(record.kind, record.message, { param: record.param, code: record.code, type: record.type, status: record.status });
}
