import { DomainError } from '../common/errors/domain-error.js';
import { chunk, completion, FakeStream, ScriptedProvider } from '../../test/fakes/scripted-provider.js';
import { memoryLogger } from '../../test/fakes/memory-logger.js';
import { testConfig } from '../../test/factories/app-config.js';
import type { ChatRequestBody } from './chat-types.js';
import { LlmGateway, NOT_SENT } from './llm-gateway.service.js';
import { UpstreamFailure } from './llm-provider.js';
import { ModelCatalog } from './model-catalog.js';
import { ProviderRegistry } from './provider-registry.js';
import { BACKOFF_BASE_MS } from './retry-policy.js';

const TIMEOUT_MS = 10_000;
const IDLE_MS = 1_000;

const config = testConfig({
  upstream: { max_retries: 2, timeout_ms: TIMEOUT_MS, idle_timeout_ms: IDLE_MS },
  providers: {
    primary: { base_url: 'http://primary.test/v1', api_key: 'k-primary' },
    backup: { base_url: 'http://backup.test/v1', api_key: 'k-backup' },
    // Declared without a URL: not configured, so its model is no usable fallback.
    absent: {},
  },
  models: [
    { id: 'main', provider: 'primary', upstream_id: 'main-upstream', context_window: 8000, fallbacks: ['offline', 'spare'] },
    { id: 'offline', provider: 'absent', context_window: 8000 },
    { id: 'spare', provider: 'backup', upstream_id: 'spare-upstream', context_window: 8000 },
  ],
});
const catalog = new ModelCatalog(config, []);
const body: ChatRequestBody = { model: 'main', messages: [{ role: 'user', content: 'hi' }] };

const http = (status: number, retryAfterMs?: number) => new UpstreamFailure('http', `The upstream answered ${status}.`, { status, retryAfterMs });
const connection = () => new UpstreamFailure('connection', 'Could not reach the upstream provider.');

/** A promise's outcome, read later without an unhandled rejection in between. */
function outcome<T>(promise: Promise<T>): () => Promise<{ value?: T; error?: unknown }> {
  const settled = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return () => settled;
}

/** Whether a promise has settled by now (after the microtasks and due timers ran). */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await jest.advanceTimersByTimeAsync(0);
  return settled;
}

describe('LlmGateway', () => {
  let primary: ScriptedProvider;
  let backup: ScriptedProvider;
  let gateway: LlmGateway;
  let client: AbortController;

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    primary = new ScriptedProvider('primary');
    backup = new ScriptedProvider('backup');
    gateway = new LlmGateway(new ProviderRegistry([primary, backup]), catalog, config, memoryLogger().logger);
    client = new AbortController();
  });
  afterEach(() => jest.useRealTimers());

  describe('complete', () => {
    it('retries a retryable failure after a backoff, and answers with the model asked for', async () => {
      primary.willComplete({ fail: http(503) }, { fail: connection() }, { answer: completion('third time') });
      const call = gateway.complete(catalog.resolve('main'), body, client.signal);

      await jest.advanceTimersByTimeAsync(0);
      expect(primary.calls).toHaveLength(1);
      // Full jitter over the first ceiling: at least half of it, at most all of it.
      await jest.advanceTimersByTimeAsync(BACKOFF_BASE_MS / 2 - 1);
      expect(primary.calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(BACKOFF_BASE_MS / 2 + 1);
      expect(primary.calls).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(2 * BACKOFF_BASE_MS);

      await expect(call).resolves.toMatchObject({
        provider: 'primary',
        upstreamModel: 'main-upstream',
        model: { id: 'main' },
        completion: { choices: [{ message: { content: 'third time' } }] },
      });
      expect(primary.calls.map((c) => c.body.model)).toEqual(['main-upstream', 'main-upstream', 'main-upstream']);
      expect(backup.calls).toHaveLength(0);
    });

    it("waits as long as the upstream's retry-after says", async () => {
      primary.willComplete({ fail: http(429, 3_000) }, { answer: completion('later') });
      const call = gateway.complete(catalog.resolve('main'), body, client.signal);

      await jest.advanceTimersByTimeAsync(2_999);
      expect(primary.calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(primary.calls).toHaveLength(2);
      await expect(call).resolves.toMatchObject({ provider: 'primary' });
    });

    it("falls back to the next configured model once the retries are spent, with that model's upstream id", async () => {
      primary.willComplete({ fail: http(500) }, { fail: http(502) }, { fail: http(503) });
      backup.willComplete({ answer: completion('from the backup') });
      const call = gateway.complete(catalog.resolve('main'), body, client.signal);
      await jest.advanceTimersByTimeAsync(60_000);

      await expect(call).resolves.toMatchObject({ provider: 'backup', upstreamModel: 'spare-upstream', model: { id: 'spare' } });
      expect(primary.calls).toHaveLength(3);
      expect(backup.calls.map((c) => c.body.model)).toEqual(['spare-upstream']);
    });

    it('goes to the fallback at once when retry-after is too long to wait for', async () => {
      primary.willComplete({ fail: http(429, 120_000) });
      backup.willComplete({ answer: completion('no waiting') });
      const call = gateway.complete(catalog.resolve('main'), body, client.signal);
      await jest.advanceTimersByTimeAsync(0);

      await expect(call).resolves.toMatchObject({ provider: 'backup' });
      expect(primary.calls).toHaveLength(1);
    });

    it('answers with the last failure, mapped for the client, when every candidate failed', async () => {
      primary.willComplete({ fail: http(500) }, { fail: http(500) }, { fail: http(500) });
      backup.willComplete({ fail: http(503) }, { fail: http(503) }, { fail: http(503) });
      const call = outcome(gateway.complete(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(60_000);

      const { error } = await call();
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ kind: 'upstream_unavailable', message: expect.stringContaining('backup') });
      expect((error as DomainError).message).toContain('spare');
      expect([primary.calls.length, backup.calls.length]).toEqual([3, 3]);
    });

    it.each([
      ['a 400', http(400)],
      ['a 401', http(401)],
      ['a bad response', new UpstreamFailure('bad_response', 'not a chat completion')],
    ])('neither retries nor falls back after %s', async (_what, failure) => {
      primary.willComplete({ fail: failure });
      backup.willComplete({ answer: completion('never asked') });
      const call = outcome(gateway.complete(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(60_000);

      expect((await call()).error).toBeInstanceOf(DomainError);
      expect([primary.calls.length, backup.calls.length]).toEqual([1, 0]);
    });

    it('cuts an attempt that takes longer than the upstream timeout, and retries it', async () => {
      primary.willComplete('hang', { answer: completion('in time') });
      const call = gateway.complete(catalog.resolve('main'), body, client.signal);

      await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
      expect(primary.calls[0].signal.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(primary.calls[0].signal.aborted).toBe(true);
      await jest.advanceTimersByTimeAsync(BACKOFF_BASE_MS);

      await expect(call).resolves.toMatchObject({ provider: 'primary' });
      expect(primary.calls).toHaveLength(2);
    });

    it('sends nothing when the client has gone before the first attempt, and says so for billing', async () => {
      client.abort();
      await expect(gateway.complete(catalog.resolve('main'), body, client.signal)).rejects.toMatchObject({
        kind: 'aborted',
        details: { code: NOT_SENT },
      });
      expect(primary.calls).toHaveLength(0);
    });

    it('stops at once when the client leaves during an attempt: the upstream request is aborted, nothing retried', async () => {
      primary.willComplete('hang', { answer: completion('never asked') });
      const call = outcome(gateway.complete(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(0);
      client.abort();

      const { error } = await call();
      expect(error).toBeInstanceOf(UpstreamFailure);
      // Sent: the upstream may have billed it, so it carries no NOT_SENT code.
      expect(error).toMatchObject({ kind: 'aborted', details: {} });
      expect(primary.calls[0].signal.aborted).toBe(true);
      await jest.advanceTimersByTimeAsync(60_000);
      expect([primary.calls.length, backup.calls.length]).toEqual([1, 0]);
    });

    it('stops waiting for a retry when the client leaves during the backoff', async () => {
      primary.willComplete({ fail: http(503, 5_000) }, { answer: completion('never asked') });
      const call = outcome(gateway.complete(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(1_000);
      client.abort();

      expect((await call()).error).toMatchObject({ kind: 'aborted', details: {} });
      await jest.advanceTimersByTimeAsync(60_000);
      expect(primary.calls).toHaveLength(1);
    });
  });

  describe('openStream', () => {
    it('opens on the first chunk and relays the rest until the end, asking for usage', async () => {
      primary.willStream({ answer: new FakeStream().push(chunk('Hel'), chunk('lo'), chunk(null, { finish_reason: 'stop' })).end() });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);

      expect(opened).toMatchObject({ provider: 'primary', upstreamModel: 'main-upstream', first: { choices: [{ delta: { content: 'Hel' } }] } });
      expect(primary.calls[0].body).toMatchObject({ model: 'main-upstream', stream: true, stream_options: { include_usage: true } });
      const rest = [];
      for (let r = await opened.next(); !r.done; r = await opened.next())
        rest.push(r.value.choices[0].delta.content ?? r.value.choices[0].finish_reason);
      expect(rest).toEqual(['lo', 'stop']);
    });

    it('retries a stream that fails to open, then falls back', async () => {
      primary.willStream({ fail: http(500) }, { fail: http(500) }, { fail: connection() });
      backup.willStream({ answer: new FakeStream().push(chunk('spare')) });
      const opened = outcome(gateway.openStream(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(60_000);

      expect((await opened()).value).toMatchObject({
        provider: 'backup',
        model: { id: 'spare' },
        first: { choices: [{ delta: { content: 'spare' } }] },
      });
      expect(primary.calls).toHaveLength(3);
    });

    it('cuts a stream silent before its first chunk after the idle timeout, and retries it', async () => {
      const silent = new FakeStream();
      primary.willStream({ answer: silent }, { answer: new FakeStream().push(chunk('awake')) });
      const opened = outcome(gateway.openStream(catalog.resolve('main'), body, client.signal));

      await jest.advanceTimersByTimeAsync(IDLE_MS - 1);
      expect(primary.calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      // The silent request is aborted, not left open.
      expect(primary.calls[0].signal.aborted).toBe(true);
      await jest.advanceTimersByTimeAsync(BACKOFF_BASE_MS);

      expect((await opened()).value).toMatchObject({ provider: 'primary', first: { choices: [{ delta: { content: 'awake' } }] } });
      expect(primary.calls).toHaveLength(2);
    });

    it('answers upstream_timeout when the stream goes silent after its first chunk, and does not retry it', async () => {
      const stream = new FakeStream().push(chunk('one'));
      primary.willStream({ answer: stream }, { answer: new FakeStream().push(chunk('never asked')) });
      backup.willStream({ answer: new FakeStream().push(chunk('never asked')) });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);

      // The idle timeout runs from the last chunk: chunks 900 ms apart keep the stream alive.
      const second = opened.next();
      await jest.advanceTimersByTimeAsync(IDLE_MS - 100);
      stream.push(chunk('two'));
      await expect(second).resolves.toMatchObject({ done: false, value: { choices: [{ delta: { content: 'two' } }] } });

      const third = outcome(opened.next());
      await jest.advanceTimersByTimeAsync(IDLE_MS - 1);
      expect(await isSettled(third())).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      const { error } = await third();
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ kind: 'upstream_timeout', message: expect.stringContaining('went silent mid-stream') });
      expect(primary.calls[0].signal.aborted).toBe(true);

      await jest.advanceTimersByTimeAsync(60_000);
      expect([primary.calls.length, backup.calls.length]).toEqual([1, 0]);
    });

    it('reports a stream that breaks after its first chunk in-band, without retrying or falling back', async () => {
      const stream = new FakeStream().push(chunk('partial'));
      primary.willStream({ answer: stream }, { answer: new FakeStream().push(chunk('never asked')) });
      backup.willStream({ answer: new FakeStream().push(chunk('never asked')) });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);
      stream.fail(connection());

      await expect(opened.next()).rejects.toMatchObject({ kind: 'upstream_error', message: expect.stringContaining('broke off the stream') });
      await jest.advanceTimersByTimeAsync(60_000);
      expect([primary.calls.length, backup.calls.length]).toEqual([1, 0]);
    });

    it('takes a stream that ends before any chunk for a bad response: not retried, its source cancelled', async () => {
      const empty = new FakeStream().end();
      primary.willStream({ answer: empty }, { answer: new FakeStream().push(chunk('never asked')) });
      const opened = outcome(gateway.openStream(catalog.resolve('main'), body, client.signal));
      await jest.advanceTimersByTimeAsync(60_000);

      expect((await opened()).error).toMatchObject({ kind: 'upstream_error', message: expect.stringContaining('invalid response') });
      expect(empty.cancelled).toBe(true);
      expect(primary.calls).toHaveLength(1);
      // Neither its idle watch nor its overall timeout outlives the failed attempt.
      expect(jest.getTimerCount()).toBe(0);
    });

    it('releases a stream that ended without aborting its request (its connection goes back to the pool)', async () => {
      const stream = new FakeStream().push(chunk('one')).end();
      primary.willStream({ answer: stream });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);

      await expect(opened.next()).resolves.toMatchObject({ done: true });
      expect(primary.calls[0].signal.aborted).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
      // The client leaving afterwards no longer reaches the finished request.
      client.abort();
      expect(primary.calls[0].signal.aborted).toBe(false);
    });

    it('cancel() aborts the upstream request and releases its source', async () => {
      const stream = new FakeStream().push(chunk('one'));
      primary.willStream({ answer: stream });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);
      await opened.cancel();

      expect(primary.calls[0].signal.aborted).toBe(true);
      expect(stream.cancelled).toBe(true);
    });

    it('passes a client leaving mid-stream on as an abort, not as an upstream failure', async () => {
      primary.willStream({ answer: new FakeStream().push(chunk('one')) });
      const opened = await gateway.openStream(catalog.resolve('main'), body, client.signal);
      const next = opened.next();
      client.abort();

      await expect(next).rejects.toMatchObject({ kind: 'aborted' });
      expect(await next.catch((e: unknown) => e)).toBeInstanceOf(UpstreamFailure);
    });
  });
});
