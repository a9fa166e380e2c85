import { DomainError } from '../common/errors/domain-error.js';
import type { UpstreamFailure } from './llm-provider.js';

/** Which call failed, for the message: the provider, the catalog model, and whether a stream had begun. */
export interface UpstreamCallSite {
  provider: string;
  /** The catalog model id the call was for, when known. */
  model?: string;
  /** The stream had already delivered chunks (the failure reaches the client in-band). */
  midStream?: boolean;
}

/**
 * What the client sees of an upstream failure: 502 for a bad answer, 503 when unreachable, 504 on
 * timeout, the upstream's 429 as a 429, and any other upstream 4xx with its own status and
 * message. Credentials the server holds being refused is the operator's problem, so a 502.
 *
 * Only a 4xx (the client's own request was bad) carries the upstream's words; for everything else
 * the message says what failed (provider, model, status) and nothing the upstream said, which can
 * hold internal detail (stack traces, hosts, account ids). Those words go to the log only.
 */
export function upstreamToDomain(failure: UpstreamFailure, { provider, model, midStream }: UpstreamCallSite): DomainError {
  const { kind, details } = failure;
  const who = `The upstream provider ${provider}`;
  const forModel = model ? ` for model ${model}` : '';
  switch (kind) {
    case 'timeout':
      return new DomainError('upstream_timeout', `${who} ${midStream ? 'went silent mid-stream' : 'did not answer in time'}${forModel}.`, {
        cause: failure,
      });
    case 'connection':
      return midStream
        ? new DomainError('upstream_error', `${who} broke off the stream${forModel}.`, { cause: failure })
        : new DomainError('upstream_unavailable', `${who} could not be reached${forModel}.`, { cause: failure });
    case 'bad_response':
      // Our own description of what was wrong (never the upstream's text, which stays in details).
      return new DomainError('upstream_error', `${who} sent an invalid response${forModel}: ${failure.message}`, { cause: failure });
    case 'aborted':
      return new DomainError('upstream_error', 'The upstream call was aborted.', { cause: failure });
    case 'refused':
      return details.refusal ?? new DomainError('upstream_unavailable', `${who} refused the call${forModel}.`, { cause: failure });
    case 'http':
      break;
  }
  const status = details.status ?? 502;
  if (status === 429) {
    // The server's own account is being limited (the text can name it): not the client's request.
    return new DomainError('rate_limited', `${who} is rate limiting requests${forModel} (HTTP 429).`, {
      code: details.code ?? 'rate_limit_exceeded',
      retryAfterSeconds: details.retryAfterMs !== undefined ? details.retryAfterMs / 1000 : undefined,
      cause: failure,
    });
  }
  if (status === 401 || status === 403) {
    return new DomainError('upstream_error', `${who} refused this server's credentials${forModel} (HTTP ${status}).`, { cause: failure });
  }
  if (status === 408 || status === 504) {
    return new DomainError('upstream_timeout', `${who} timed out${forModel} (HTTP ${status}).`, { cause: failure });
  }
  if (status === 503) {
    return new DomainError('upstream_unavailable', `${who} is unavailable${forModel} (HTTP 503).`, { cause: failure });
  }
  if (status >= 500) {
    return new DomainError('upstream_error', `${who} failed${forModel} (HTTP ${status}).`, { cause: failure });
  }
  return new DomainError('upstream_rejected', details.upstreamMessage ?? `${who} rejected the request${forModel} (HTTP ${status}).`, {
    status,
    code: details.code ?? null,
    param: details.param ?? null,
    type: details.type,
    cause: failure,
  });
}
