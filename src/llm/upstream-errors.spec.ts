import { ERROR_TABLE } from '../common/errors/error-table.js';
import { UpstreamFailure } from './llm-provider.js';
import { retryAfterMs } from './openai-compatible.provider.js';
import { upstreamToDomain } from './upstream-errors.js';

const status = (f: UpstreamFailure) => {
  const e = upstreamToDomain(f, 'acme');
  return e.kind === 'upstream_rejected' ? e.status : ERROR_TABLE[e.kind].status;
};

describe('upstreamToDomain', () => {
  it('maps failures to 502, 503 and 504', () => {
    expect(status(new UpstreamFailure('bad_response', 'x'))).toBe(502);
    expect(status(new UpstreamFailure('connection', 'x'))).toBe(503);
    expect(status(new UpstreamFailure('timeout', 'x'))).toBe(504);
    expect(status(new UpstreamFailure('http', 'x', { status: 500 }))).toBe(502);
    expect(status(new UpstreamFailure('http', 'x', { status: 503 }))).toBe(503);
    expect(status(new UpstreamFailure('http', 'x', { status: 408 }))).toBe(504);
  });

  it('keeps an upstream 429 as a 429 with its retry-after', () => {
    const e = upstreamToDomain(new UpstreamFailure('http', 'slow down', { status: 429, retryAfterMs: 7_000 }), 'acme');
    expect({ kind: e.kind, retry: e.retryAfterSeconds }).toEqual({ kind: 'rate_limited', retry: 7 });
  });

  it('keeps another 4xx with its status, message, code and param', () => {
    const e = upstreamToDomain(new UpstreamFailure('http', 'max_tokens is too large', { status: 422, code: 'invalid_value', param: 'max_tokens' }), 'acme');
    expect({ kind: e.kind, status: e.status, message: e.message, code: e.code, param: e.param }).toEqual({
      kind: 'upstream_rejected',
      status: 422,
      message: 'max_tokens is too large',
      code: 'invalid_value',
      param: 'max_tokens',
    });
  });

  it("does not pass the server's own credential problems off as the client's", () => {
    expect(status(new UpstreamFailure('http', 'bad key', { status: 401 }))).toBe(502);
    expect(status(new UpstreamFailure('http', 'forbidden', { status: 403 }))).toBe(502);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }))).toBe(3000);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    expect(retryAfterMs(new Headers({ 'retry-after': inTenSeconds }))).toBeGreaterThan(8_000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});
