import parsePrometheus from 'parse-prometheus-text-format';
import { UsageRecorder } from '../../src/metering/ledger/usage-recorder.service.js';
import { client, expectError } from '../support/http.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';
import { createUser } from '../support/users.js';

const redisUrl = process.env.TEST_REDIS_URL;
const METRICS_TOKEN = 'metrics-secret-0123456789';

describe(`limits, budgets, reports and metrics (${redisUrl ? 'Redis' : 'in-memory'} counters)`, () => {
  let upstream: StandInUpstream;
  let t: TestApp;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    t = await startTestApp({
      env: {
        CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
        UPSTREAM_MAX_RETRIES: '0',
        METRICS_TOKEN,
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      },
    });
    admin = client(t.url, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  const newUser = (userPatch: object = {}, keyBody: object = {}) => createUser(t.url, t.adminKey, { user: userPatch, key: keyBody });
  const ask = (api: ReturnType<typeof client>, extra: object = {}) =>
    api.post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hello' }], max_tokens: 50, ...extra });

  describe('requests per minute', () => {
    it('admits the limit, then refuses with 429 rate_limit_exceeded, retry-after and the headers', async () => {
      const u = await newUser({}, { limits: { rpm: 3 } });
      const remaining: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await ask(u.api);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
        remaining.push(res.headers.get('x-ratelimit-remaining-requests')!);
        expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+(\.\d+)?s$/);
      }
      expect(remaining).toEqual(['2', '1', '0']);
      const refused = await ask(u.api);
      const error = expectError(refused, 429, 'rate_limit_exceeded');
      expect(error.type).toBe('requests');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Both name the moment the oldest request leaves the window: retry-after in whole seconds, rounded up.
      const [, minutes, seconds] = /^(?:(\d+)m)?([\d.]+)s$/.exec(refused.headers.get('x-ratelimit-reset-requests')!)!;
      expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(Number(minutes ?? 0) * 60 + Number(seconds)));
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(refused.headers.get('x-should-retry')).toBeNull();
      expect(upstream.requests).toHaveLength(3);
    });

    it('counts a user over all their keys, and blocks with 0 (no retry can help)', async () => {
      const u = await newUser({ limits: { rpm: 2 } });
      const second = client(t.url, (await admin.post(`/users/${u.id}/keys`, {})).body.key);
      expect((await ask(u.api)).status).toBe(200);
      expect((await ask(second)).status).toBe(200);
      expectError(await ask(u.api), 429);
      expectError(await second.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] }), 429);

      const blocked = await newUser({}, { limits: { rpm: 0 } });
      const res = await ask(blocked.api);
      expectError(res, 429, 'rate_limit_exceeded');
      expect(res.headers.get('x-should-retry')).toBe('false');
    });

    it('puts the rate-limit headers on streams, before the first byte', async () => {
      const u = await newUser({}, { limits: { rpm: 10, tpm: 10_000 } });
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'stream' }] }),
      });
      expect(res.headers.get('content-type')).toMatch(/event-stream/);
      for (const name of ['requests', 'tokens']) {
        for (const part of ['limit', 'remaining', 'reset']) expect(res.headers.get(`x-ratelimit-${part}-${name}`)).toBeTruthy();
      }
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('10000');
      await res.text();
      const chat = await fetch(`${t.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'stream' }] }),
      });
      expect(chat.headers.get('x-ratelimit-remaining-requests')).toBe('8');
      await chat.text();
    });
  });

  describe('tokens per minute', () => {
    it('reserves prompt + max_tokens before the call and settles to the real usage after', async () => {
      const u = await newUser({}, { limits: { tpm: 500 } });
      upstream.setDefault({ kind: 'reply', text: 'short', usage: { prompt_tokens: 20, completion_tokens: 5 } });
      // Each asks for up to 400 tokens: two estimates (2 × ~410) would not fit in 500, but each
      // settles to 25 real tokens, so the next one fits.
      for (let i = 0; i < 3; i++) expect((await ask(u.api, { max_tokens: 400 })).status).toBe(200);
      const res = await ask(u.api, { max_tokens: 10 });
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('500');
      // The window holds three settled calls (25 each) and this one's estimate (prompt + 10).
      const estimate = 500 - Number(res.headers.get('x-ratelimit-remaining-tokens')) - 75;
      expect(estimate).toBeGreaterThan(10);
      expect(estimate).toBeLessThan(60);
    });

    it('serves a prompt whose size bound is over the limit but whose real count fits, holding the count', async () => {
      const u = await newUser({}, { limits: { tpm: 2_000 } });
      // ~6,000 bytes of prose, ~1,000 tokens: the byte bound alone would never fit 2,000.
      const prose = 'hello world '.repeat(500);
      const res = await ask(u.api, { max_tokens: 100, messages: [{ role: 'user', content: prose }] });
      expect(res.status).toBe(200);
      const held = 2_000 - Number(res.headers.get('x-ratelimit-remaining-tokens'));
      expect(held).toBeGreaterThan(1_000);
      expect(held).toBeLessThan(1_300);
    });

    it('refuses what does not fit with retry-after, and what never can without it', async () => {
      const u = await newUser({}, { limits: { tpm: 300 } });
      // The first call is held at the upstream (its estimate reserved) until the second is answered.
      let release!: () => void;
      upstream.script({
        kind: 'reply',
        text: 'slow',
        until: new Promise<void>((r) => (release = r)),
        usage: { prompt_tokens: 20, completion_tokens: 200 },
      });
      const called = upstream.nextRequest();
      const first = ask(u.api, { max_tokens: 200 });
      await called;
      const busy = await ask(u.api, { max_tokens: 200 });
      release();
      const error = expectError(busy, 429, 'rate_limit_exceeded');
      expect(error.type).toBe('tokens');
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await first).status).toBe(200);
      const never = await ask(u.api, { max_tokens: 1_000 });
      expect(expectError(never, 429).message).toContain('max_tokens');
      expect(never.headers.get('x-should-retry')).toBe('false');
    });

    it('holds the default output (not the model maximum) for a call without max_tokens, and the headers agree with the 429', async () => {
      // standin-gpt may answer 4,096 tokens: held whole, one call would never fit a 3,000 window.
      const u = await newUser({}, { limits: { tpm: 3_000 } });
      upstream.setDefault({ kind: 'reply', text: 'ok', usage: { prompt_tokens: 8, completion_tokens: 2 } });
      const first = await ask(u.api, { max_tokens: undefined });
      expect(first.status).toBe(200);
      // The window holds this call's prompt + RATE_LIMIT_DEFAULT_OUTPUT_TOKENS (1,024) until it settles.
      const held = 3_000 - Number(first.headers.get('x-ratelimit-remaining-tokens'));
      expect(held).toBeGreaterThan(1_024);
      expect(held).toBeLessThan(1_024 + 40);
      // Settled to 10 real tokens, so two more calls fit at once; a fourth in flight would not.
      const both = await Promise.all([ask(u.api, { max_tokens: undefined }), ask(u.api, { max_tokens: undefined })]);
      expect(both.map((r) => r.status)).toEqual([200, 200]);
      // A call that fits the empty window (its prompt as held + max_tokens = 2,990) but not the 30 tokens used.
      const bigOutput = 2_990 - (held - 1_024);
      const big = await ask(u.api, { max_tokens: bigOutput });
      const error = expectError(big, 429, 'rate_limit_exceeded');
      expect(error.type).toBe('tokens');
      const retryAfter = Number(big.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(error.message).toContain(`try again in ${retryAfter}s`);
      expect(Number(big.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(2_990);
    });

    it('counts streamed and aborted calls exactly like the others', async () => {
      const u = await newUser({}, { limits: { tpm: 100_000 } });
      upstream.setDefault({
        kind: 'reply',
        text: Array.from({ length: 120 }, (_, i) => `w${i}`).join(' '),
        chunkDelayMs: 5,
        usage: { prompt_tokens: 30, completion_tokens: 120 },
      });
      const controller = new AbortController();
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, max_tokens: 5_000, messages: [{ role: 'user', content: 'go' }] }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      await reader.read();
      controller.abort();
      await upstream.idle();
      // The upstream's end is seen first; the aborted call is settled (and its record queued) just after.
      let records: Array<{ status: string; promptTokens: number; completionTokens: number }> = [];
      await waitFor(async () => {
        await t.app.get(UsageRecorder).flush();
        records = await t.prisma.usageRecord.findMany({ where: { userId: u.id } });
        return records.length > 0;
      });
      const [aborted] = records;
      expect(aborted.status).toBe('aborted');
      // The window now holds the aborted call's metered tokens, not its 5,000-token estimate.
      upstream.setDefault({ kind: 'reply', text: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } });
      const next = await ask(u.api, { max_tokens: 10 });
      const used = 100_000 - Number(next.headers.get('x-ratelimit-remaining-tokens'));
      const nextEstimate = used - (aborted.promptTokens + aborted.completionTokens);
      expect(nextEstimate).toBeGreaterThan(10);
      expect(nextEstimate).toBeLessThan(60);
    });
  });

  describe('budgets', () => {
    it('refuses a call whose worst case does not fit with 429 insufficient_quota and x-should-retry: false', async () => {
      // standin-gpt: $2.50 / $10 per 1M tokens; 1,000 output tokens alone may cost $0.01.
      const u = await newUser({}, { budget: { amount_usd: 0.005, period: 'day' } });
      const res = await ask(u.api, { max_tokens: 1_000 });
      const error = expectError(res, 429, 'insufficient_quota');
      expect(error.type).toBe('insufficient_quota');
      expect(error.message).toMatch(/budget of \$0\.005 for today/);
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect(upstream.requests).toHaveLength(0);
      expect((await ask(u.api, { max_tokens: 100 })).status).toBe(200);
    });

    it('lets concurrent calls spend at most the budget, counting the real cost of each', async () => {
      // Each call costs exactly 100 × $2.50 + 100 × $10 per 1M = $0.00125; the budget affords 4.
      upstream.setDefault({ kind: 'reply', text: 'x', delayMs: 50, usage: { prompt_tokens: 100, completion_tokens: 100 } });
      const u = await newUser({ budget: { amount_usd: 0.005, period: 'total' } });
      const results = await Promise.all(Array.from({ length: 16 }, () => ask(u.api, { max_tokens: 100 })));
      const admitted = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 429);
      expect(admitted).toBeGreaterThanOrEqual(1);
      expect(admitted).toBeLessThanOrEqual(4);
      expect(refused.every((r) => r.body.error.code === 'insufficient_quota')).toBe(true);
      await t.app.get(UsageRecorder).flush();
      const spent = (await t.prisma.usageRecord.findMany({ where: { userId: u.id } })).reduce((n, r) => n + Number(r.costMicros), 0);
      expect(spent).toBeLessThanOrEqual(5_000);
      expect(spent).toBe(admitted * 1_250);
      // Later calls see the spend; raising the budget lets them through again.
      await admin.patch(`/users/${u.id}`, { budget: { amount_usd: 1, period: 'total' } });
      expect((await ask(u.api, { max_tokens: 100 })).status).toBe(200);
    });

    it('keeps what a budget has spent across a restart', async () => {
      upstream.setDefault({ kind: 'reply', text: 'x', usage: { prompt_tokens: 100, completion_tokens: 100 } });
      const u = await newUser({}, { budget: { amount_usd: 0.0025, period: 'day' } });
      expect((await ask(u.api, { max_tokens: 100 })).status).toBe(200);
      const again = await startTestApp({ db: t.db, env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), UPSTREAM_MAX_RETRIES: '0' } });
      try {
        // $0.00125 of $0.0025 is spent: a call that may cost $0.0016 no longer fits, after the restart too.
        const res = await client(again.url, u.key).post('/v1/chat/completions', {
          model: 'standin-gpt',
          messages: [{ role: 'user', content: 'x' }],
          max_tokens: 150,
        });
        expectError(res, 429, 'insufficient_quota');
        expect(res.body.error.message).toContain('$0.00125 is left');
      } finally {
        await again.close();
      }
    });

    it('counts failed, streamed and aborted calls against the budget too', async () => {
      const u = await newUser({}, { budget: { amount_usd: 1, period: 'month' } });
      upstream.setDefault({ kind: 'reply', text: 'one two three', usage: { prompt_tokens: 40, completion_tokens: 3 } });
      const stream = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }),
      });
      await stream.text();
      upstream.setDefault({ kind: 'error', status: 500 });
      expectError(await ask(u.api), 502);
      await t.app.get(UsageRecorder).flush();
      const records = await t.prisma.usageRecord.findMany({ where: { userId: u.id } });
      const counters = await t.prisma.budgetCounter.findMany({ where: { scopeId: u.keyId } });
      expect(counters).toHaveLength(1);
      expect(Number(counters[0].spentMicros)).toBe(records.reduce((n, r) => n + Number(r.costMicros), 0));
      expect(Number(counters[0].reservedMicros)).toBe(0);
    });
  });

  describe('GET /usage and /users/{id}/stats', () => {
    it('report exactly what the usage records hold, grouped as asked, to whom it belongs', async () => {
      const u = await newUser();
      upstream.setDefault({ kind: 'reply', text: 'r', usage: { prompt_tokens: 10, completion_tokens: 2 } });
      await ask(u.api, { user: 'alice' });
      await ask(u.api, { user: 'alice' });
      await ask(u.api, { user: 'bob' });
      await u.api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      await t.app.get(UsageRecorder).flush();
      const records = await t.prisma.usageRecord.findMany({ where: { userId: u.id } });
      const byEndUser = await u.api.get('/usage?group_by=end_user');
      expect(byEndUser.body).toMatchObject({ object: 'usage.report', group_by: 'end_user', user_id: u.id });
      expect(byEndUser.body.data.map((g: { group: string | null; requests: number }) => [g.group, g.requests])).toEqual([
        ['alice', 2],
        ['bob', 1],
        [null, 1],
      ]);
      expect(byEndUser.body.totals).toMatchObject({
        requests: 4,
        prompt_tokens: records.reduce((n, r) => n + r.promptTokens, 0),
        completion_tokens: records.reduce((n, r) => n + r.completionTokens, 0),
      });
      expect(Math.round(byEndUser.body.totals.cost_usd * 1e6)).toBe(records.reduce((n, r) => n + Number(r.costMicros), 0));
      const today = new Date().toISOString().slice(0, 10);
      const byDay = await u.api.get(`/usage?group_by=day&from=${today}&to=${today}`);
      expect(byDay.body.data).toEqual([expect.objectContaining({ group: today, requests: 4 })]);
      const byKey = await u.api.get('/usage?group_by=key');
      expect(byKey.body.data).toEqual([expect.objectContaining({ group: u.keyId, requests: 4 })]);
      const bySession = await u.api.get('/usage?group_by=session');
      expect(bySession.body.data.map((g: { requests: number }) => g.requests).sort()).toEqual([1, 3]);
      const byModel = await u.api.get('/usage?group_by=model');
      const stats = await u.api.get('/users/me/stats');
      expect(stats.body.by_model).toEqual(
        byModel.body.data
          .map((g: { group: string }) => ({ ...g, group: undefined, model: g.group }))
          .map(({ group: _g, ...rest }: { group?: unknown }) => rest),
      );
      expect(stats.body).toMatchObject({ requests: 4, prompt_tokens: byModel.body.totals.prompt_tokens, cost_usd: byModel.body.totals.cost_usd });

      const past = await u.api.get('/usage?from=2020-01-01&to=2020-01-31');
      expect(past.body.totals.requests).toBe(0);
      expectError(await u.api.get(`/usage?user_id=${(await admin.get('/me')).body.id}`), 404);
      expectError(await u.api.get('/usage?group_by=week'), 400);
      expectError(await u.api.get('/usage?from=2026-02-01&to=2026-01-01'), 400);
      const all = await admin.get('/usage?group_by=model');
      expect(all.body.user_id).toBeNull();
      expect(all.body.totals.requests).toBeGreaterThanOrEqual(4);
      const theirs = await admin.get(`/usage?group_by=model&user_id=${u.id}`);
      expect(theirs.body.totals).toEqual(byModel.body.totals);
    });
  });

  describe('GET /metrics', () => {
    let lastText = '';
    const scrape = async () => {
      const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      lastText = await res.text();
      return parsePrometheus(lastText);
    };
    /** A histogram's observation count (the parser keeps no labels for histograms: read its _count line). */
    const histogramCount = (text: string, name: string, labels: string) =>
      Number(new RegExp(`^${name}_count\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const value = (families: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string>) => {
      const family = families.find((f) => f.name === name);
      const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
      if (!metric) return 0;
      return Number('value' in metric ? metric.value : (metric as { count: string }).count);
    };

    it('needs the METRICS_TOKEN when one is set', async () => {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    });

    it('parses as Prometheus text, and its counters move by what happened', async () => {
      const u = await newUser({}, { limits: { rpm: 2 } });
      const before = await scrape();
      const beforeText = lastText;
      upstream.setDefault({ kind: 'reply', text: 'm', usage: { prompt_tokens: 11, completion_tokens: 7 } });
      await ask(u.api);
      await ask(u.api);
      expectError(await ask(u.api), 429);
      upstream.setDefault({ kind: 'error', status: 500 });
      const other = await newUser();
      expectError(await ask(other.api), 502);
      await t.app.get(UsageRecorder).flush();
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
      expect(delta('colloquy_upstream_requests_total', { provider: 'standin', model: 'standin-gpt', status: 'ok' })).toBe(2);
      expect(delta('colloquy_upstream_requests_total', { provider: 'standin', model: 'standin-gpt', status: 'error' })).toBe(1);
      expect(delta('colloquy_upstream_errors_total', { provider: 'standin', model: 'standin-gpt', code: 'upstream_error' })).toBe(1);
      expect(delta('colloquy_tokens_total', { model: 'standin-gpt', kind: 'prompt' })).toBe(22);
      expect(delta('colloquy_tokens_total', { model: 'standin-gpt', kind: 'completion' })).toBe(14);
      // Each call is rounded to whole micro-dollars (97.5 → 98).
      expect(delta('colloquy_cost_usd_total', { model: 'standin-gpt' })).toBeCloseTo((2 * Math.round(11 * 2.5 + 7 * 10)) / 1e6, 12);
      expect(delta('colloquy_rate_limit_refusals_total', { kind: 'requests', scope: 'key' })).toBe(1);
      expect(delta('colloquy_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '200' })).toBe(2);
      expect(delta('colloquy_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '429' })).toBe(1);
      expect(delta('colloquy_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '502' })).toBe(1);
      const latencyCount = (text: string) => histogramCount(text, 'colloquy_upstream_latency_seconds', 'provider="standin",model="standin-gpt"');
      expect(latencyCount(lastText) - latencyCount(beforeText)).toBe(3);
      expect(after.find((f) => f.name === 'colloquy_active_streams')).toBeDefined();
    });

    it('keeps labels bounded: unknown routes and models collapse', async () => {
      await admin.get('/no/such/route/123');
      await admin.get('/no/such/route/456');
      await admin.post('/v1/chat/completions', { model: 'standin/made-up-model-1', messages: [{ role: 'user', content: 'x' }] });
      await t.app.get(UsageRecorder).flush();
      const families = await scrape();
      const routes = families.find((f) => f.name === 'colloquy_http_requests_total')!.metrics.map((m) => m.labels!.route);
      expect(routes).toContain('unmatched');
      expect(routes.some((r) => r.includes('123'))).toBe(false);
      const models = families.find((f) => f.name === 'colloquy_upstream_requests_total')!.metrics.map((m) => m.labels!.model);
      expect(models).toContain('other');
      expect(models.some((m) => m.includes('made-up'))).toBe(false);
    });
  });
});

describe('when Redis is unreachable', () => {
  let upstream: StandInUpstream;
  beforeAll(async () => {
    upstream = await startStandInUpstream();
  });
  afterAll(() => upstream.close());

  it('keeps serving on local counters by default, and says so in /health', async () => {
    const t = await startTestApp({ env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const api = client(t.url, t.adminKey);
      const res = await api.post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBeTruthy();
      expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
      const health = await api.get('/health');
      expect(health.body).toMatchObject({
        status: 'degraded',
        dependencies: { redis: { status: 'down', fallback: expect.stringContaining('fail open') } },
      });
    } finally {
      await t.close();
    }
  });

  it('refuses with 503 when configured to fail closed', async () => {
    const t = await startTestApp({
      env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), REDIS_URL: 'redis://127.0.0.1:1', REDIS_FAIL_OPEN: 'false' },
    });
    try {
      const res = await client(t.url, t.adminKey).post('/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
      expectError(res, 503);
      expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);
    } finally {
      await t.close();
    }
  });
});
