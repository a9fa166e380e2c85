import { DomainError } from '../common/errors/domain-error.js';
import type { UpstreamFailure } from './llm-provider.js';

/**
 * What the client sees of an upstream failure: 502 for a bad answer, 503 when unreachable, 504 on
 * timeout, the upstream's 429 as a 429, and any other upstream 4xx with its own status and
 * message. Credentials the server holds being refused is the operator's problem, so a 502.
 */
export function upstreamToDomain(failure: UpstreamFailure, provider: string): DomainError {
  const { kind, details } = failure;
  switch (kind) {
    case 'timeout':
      return new DomainError('upstream_timeout', `The upstream provider ${provider} did not answer in time.`, { cause: failure });
    case 'connection':
      return new DomainError('upstream_unavailable', `The upstream provider ${provider} could not be reached.`, { cause: failure });
    case 'bad_response':
      return new DomainError('upstream_error', `The upstream provider ${provider} sent an invalid response: ${failure.message}`, { cause: failure });
    case 'aborted':
      return new DomainError('upstream_error', 'The upstream call was aborted.', { cause: failure });
    case 'http':
      break;
  }
  const status = details.status ?? 502;
  if (status === 429) {
    return new DomainError('rate_limited', `The upstream provider ${provider} is rate limiting: ${failure.message}`, {
      code: details.code ?? 'rate_limit_exceeded',
      retryAfterSeconds: details.retryAfterMs !== undefined ? details.retryAfterMs / 1000 : undefined,
      cause: failure,
    });
  }
  if (status === 401 || status === 403) {
    return new DomainError('upstream_error', `The upstream provider ${provider} refused this server's credentials.`, { cause: failure });
  }
  if (status === 408 || status === 504) {
    return new DomainError('upstream_timeout', `The upstream provider ${provider} timed out.`, { cause: failure });
  }
  if (status === 503) {
    return new DomainError('upstream_unavailable', `The upstream provider ${provider} is unavailable: ${failure.message}`, { cause: failure });
  }
  if (status >= 500) {
    return new DomainError('upstream_error', `The upstream provider ${provider} failed (${status}): ${failure.message}`, { cause: failure });
  }
  return new DomainError('upstream_rejected', failure.message, {
    status,
    code: details.code ?? null,
    param: details.param ?? null,
    type: details.type,
    cause: failure,
  });
}
