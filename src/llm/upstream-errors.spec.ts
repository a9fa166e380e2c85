import { ERROR_TABLE } from '../common/errors/error-table.js';
import { UpstreamFailure } from './llm-provider.js';
import { retryAfterMs } from './openai-compatible.provider.js';
import { upstreamToDomain } from './upstream-errors.js';

const status = (f: UpstreamFailure) => {
  const e = upstreamToDomain(f, { provider: 'acme' });
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
    const e = upstreamToDomain(new UpstreamFailure('http', 'x', { status: 429, retryAfterMs: 7_000, upstreamMessage: 'slow down, org-SECRET' }), {
      provider: 'acme',
    });
    expect({ kind: e.kind, retry: e.retryAfterSeconds }).toEqual({ kind: 'rate_limited', retry: 7 });
    expect(e.message).not.toContain('SECRET');
  });

  it('keeps another 4xx with its status, message, code and param', () => {
    const e = upstreamToDomain(
      new UpstreamFailure('http', 'The upstream answered 422.', {
        status: 422,
        code: 'invalid_value',
        param: 'max_tokens',
        upstreamMessage: 'max_tokens is too large',
      }),
      { provider: 'acme', model: 'm-1' },
    );
    expect({ kind: e.kind, status: e.status, message: e.message, code: e.code, param: e.param }).toEqual({
      kind: 'upstream_rejected',
      status: 422,
      message: 'max_tokens is too large',
      code: 'invalid_value',
      param: 'max_tokens',
    });
  });

  it('says what failed for a 5xx or a broken stream, never what the upstream said', () => {
    const secret = { upstreamMessage: 'upstream exploded INTERNAL-DETAIL-XYZ', upstreamBody: '<html>INTERNAL-DETAIL-XYZ</html>' };
    const cases: Array<[UpstreamFailure, boolean, RegExp]> = [
      [new UpstreamFailure('http', 'x', { status: 500, ...secret }), false, /^The upstream provider acme failed for model m-1 \(HTTP 500\)\.$/],
      [new UpstreamFailure('http', 'x', { status: 502, ...secret }), false, /failed for model m-1 \(HTTP 502\)/],
      [new UpstreamFailure('http', 'x', { status: 503, ...secret }), false, /is unavailable for model m-1 \(HTTP 503\)/],
      [new UpstreamFailure('http', 'x', { status: 401, ...secret }), false, /refused this server's credentials for model m-1/],
      [
        new UpstreamFailure('bad_response', 'The upstream reported an error mid-stream.', secret),
        true,
        /acme sent an invalid response for model m-1: The upstream reported an error mid-stream\./,
      ],
      [new UpstreamFailure('connection', 'The upstream connection failed.'), true, /acme broke off the stream for model m-1\./],
      [new UpstreamFailure('timeout', 'silent'), true, /acme went silent mid-stream for model m-1\./],
    ];
    for (const [failure, midStream, message] of cases) {
      const e = upstreamToDomain(failure, { provider: 'acme', model: 'm-1', midStream });
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('INTERNAL');
    }
    // A 4xx without an error object of its own: a message of ours, not the raw body.
    const bare = upstreamToDomain(new UpstreamFailure('http', 'x', { status: 404, upstreamBody: '<html>INTERNAL</html>' }), {
      provider: 'acme',
      model: 'm-1',
    });
    expect({ status: bare.status, message: bare.message }).toEqual({
      status: 404,
      message: 'The upstream provider acme rejected the request for model m-1 (HTTP 404).',
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
