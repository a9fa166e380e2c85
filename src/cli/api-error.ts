/**
 * Anything that went wrong talking to the server, in one shape: a refused connection, an HTTP
 * error answered with OpenAI's envelope, or a stream that failed or stopped midway. `errorLine`
 * turns it into the one line the user sees.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly kind: 'unreachable' | 'http' | 'stream',
    message: string,
    readonly details: {
      /** The server's base URL. */
      url?: string;
      /** HTTP status (http errors only). */
      status?: number;
      /** OpenAI envelope fields. */
      code?: string | null;
      type?: string | null;
      retryAfterSeconds?: number | null;
      /** What the command was doing, e.g. "report.pdf" for an upload. */
      subject?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number | undefined {
    return this.details.status;
  }

  /** The same error, naming what it was about ("report.pdf: …"). */
  about(subject: string): ApiError {
    return new ApiError(this.kind, this.message, { ...this.details, subject });
  }

  /** From a non-2xx response; the body is read here. */
  static async fromResponse(res: Response, url: string): Promise<ApiError> {
    const text = await res.text().catch(() => '');
    let envelope: Envelope | null = null;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      // Not JSON: a proxy's page or something that is not Colloquy.
    }
    const error = envelope?.error;
    const message =
      typeof error?.message === 'string' && error.message
        ? error.message
        : `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    return new ApiError('http', message, {
      url,
      status: res.status,
      code: typeof error?.code === 'string' ? error.code : null,
      type: typeof error?.type === 'string' ? error.type : null,
      retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after')),
    });
  }

  /** A fetch that failed before any response (refused, unknown host, TLS…). */
  static unreachable(url: string, cause: unknown): ApiError {
    return new ApiError('unreachable', `cannot reach the server at ${url} (${networkReason(cause)})`, { url, cause });
  }
}

interface Envelope {
  error?: { message?: unknown; code?: unknown; type?: unknown };
}

/** `retry-after` in seconds or as an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another name',
};

/** fetch() throws `TypeError: fetch failed` with the system error (or an AggregateError of them) as its cause. */
export function networkReason(err: unknown): string {
  let cause: unknown = err;
  for (let depth = 0; depth < 4 && cause; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return REASONS[code] ?? code;
    const nested = (cause as { errors?: unknown[] }).errors?.[0] ?? (cause as { cause?: unknown }).cause;
    if (!nested) break;
    cause = nested;
  }
  const message = (cause as Error | undefined)?.message;
  return message && message !== 'fetch failed' ? message : 'network error';
}
