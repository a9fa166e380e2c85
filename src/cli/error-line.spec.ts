import { ApiError, networkReason, parseRetryAfter } from './api-error.js';
import { describeError } from './error-line.js';
import { UsageError } from './usage-error.js';

function httpError(status: number, body: unknown, headers: Record<string, string> = {}): Promise<ApiError> {
  return ApiError.fromResponse(new Response(JSON.stringify(body), { status, headers }), 'http://srv');
}
const envelope = (message: string, code: string | null = null) => ({ error: { message, type: 'x', param: null, code } });

describe('describeError', () => {
  it('says the server cannot be reached, naming it and why', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(describeError(ApiError.unreachable('http://localhost:3000', refused))).toEqual({
      line: 'cannot reach the server at http://localhost:3000 (connection refused)',
      exitCode: 1,
    });
  });

  it('explains a refused key and where keys come from', async () => {
    const { line } = describeError(await httpError(401, envelope('Incorrect API key provided.', 'invalid_api_key')));
    expect(line).toBe('the API key was refused (Incorrect API key provided.): check --key, COLLOQUY_API_KEY or `colloquy login`');
  });

  it('gives the time to wait when over a limit', async () => {
    expect(
      describeError(await httpError(429, envelope('Rate limit reached for requests.', 'rate_limit_exceeded'), { 'retry-after': '42' })).line,
    ).toBe('over a rate limit: Rate limit reached for requests.; retry in 42s');
    expect(describeError(await httpError(429, envelope('Budget of $5 per day used.', 'insufficient_quota'), { 'retry-after': '3600' })).line).toBe(
      'over budget: Budget of $5 per day used.; retry in 1h',
    );
  });

  it("passes the server's message for a file too large, naming the file", async () => {
    const err = (await httpError(413, envelope('The file is larger than the 20 MB limit.', 'file_too_large'))).about('big.pdf');
    expect(describeError(err)).toEqual({ line: 'big.pdf: The file is larger than the 20 MB limit.', exitCode: 1 });
  });

  it('says what answered when the body is not an OpenAI error', async () => {
    const err = await ApiError.fromResponse(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }), 'http://srv');
    expect(describeError(err).line).toBe('the server answered 502 Bad Gateway');
  });

  it('makes bad usage exit 2 with its hint, and local file errors one line', () => {
    expect(describeError(new UsageError('--limit must be a whole number', 'colloquy files list --help'))).toEqual({
      line: '--limit must be a whole number (see colloquy files list --help)',
      exitCode: 2,
    });
    const missing = Object.assign(new Error("ENOENT: no such file or directory, stat 'x.pdf'"), { code: 'ENOENT', path: 'x.pdf' });
    expect(describeError(missing).line).toBe('x.pdf: no such file or directory');
  });
});

describe('reading the network failure and retry-after', () => {
  it('finds the code through fetch causes and AggregateErrors', () => {
    const aggregate = new AggregateError([Object.assign(new Error('x'), { code: 'ETIMEDOUT' })]);
    expect(networkReason(new TypeError('fetch failed', { cause: aggregate }))).toBe('timed out');
    expect(networkReason(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }))).toBe('host not found');
    expect(networkReason(new TypeError('fetch failed'))).toBe('network error');
  });

  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
