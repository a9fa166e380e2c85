import { documentFixture } from '../support/documents.js';
import { expectError, postSse, type SseFrame } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { estimateUsage } from '../support/stand-in-upstream.js';
import { STANDIN_PRICING } from '../support/test-config.js';
import { usageRecords } from '../support/test-app.js';
import { createUser, type TestUser } from '../support/users.js';

/**
 * Every paid call is one usage record and budgets never overrun, whatever the request carries
 * (any kind of content part, n choices) and whatever the upstream reports (broken, negative or
 * absurd usage, a stream cut short); a conversation that cannot be stored does not lose the record.
 */

/** `seconds` of 16 kHz, 16-bit mono PCM as a WAV file. */
function wav(seconds: number): Buffer {
  const data = 32_000 * seconds;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(16_000, 24);
  out.writeUInt32LE(32_000, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(data, 40);
  return out;
}

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const pdfPart = (name = 'report.pdf') => ({
  type: 'file',
  file: { filename: name, file_data: `data:application/pdf;base64,${documentFixture(name).toString('base64')}` },
});
const audioPart = (seconds: number) => ({ type: 'input_audio', input_audio: { data: wav(seconds).toString('base64'), format: 'wav' } });
const imagePart = { type: 'image_url', image_url: { url: PNG } };
const micros = (usd: number) => Math.round(usd * 1_000_000);

describe('the ledger holds whatever a request or its upstream says', () => {
  const s = useStandInApp({ RATE_LIMIT_RPM: '1000000' });
  const newUser = (user: object = {}, key: object = {}) => createUser(s.t.url, s.t.adminKey, { user, key });
  const ask = (u: TestUser, content: unknown, extra: object = {}) =>
    u.api.post('/v1/chat/completions', { model: 'standin-gpt', max_tokens: 20, messages: [{ role: 'user', content }], ...extra });
  const recordsOf = async (userId: string) => (await usageRecords(s.t)).filter((r) => r.userId === userId);

  describe('content parts', () => {
    it('counts an inline PDF (its pages and text) against the token limit before calling the upstream', async () => {
      const u = await newUser({}, { limits: { tpm: 2_000 } });
      const text = await ask(u, [{ type: 'text', text: 'Summarise the attached report.' }]);
      expect(text.status).toBe(200);
      const refused = await ask(u, [{ type: 'text', text: 'Summarise the attached report.' }, pdfPart()]);
      expectError(refused, 429, 'rate_limit_exceeded');
      expect(refused.body.error.type).toBe('tokens');
      expect(s.upstream.requests).toHaveLength(1);
    });

    it('counts inline audio by its duration against the budget before calling the upstream', async () => {
      // 60 s at up to 32 tokens a second: about 1,900 prompt tokens, $0.0048 at $2.50/M, over a $0.004 budget.
      const u = await newUser({ budget: { amount_usd: 0.004, period: 'day' } });
      expect((await ask(u, [{ type: 'text', text: 'hello' }])).status).toBe(200);
      const refused = await ask(u, [{ type: 'text', text: 'Transcribe this.' }, audioPart(60)]);
      expectError(refused, 429, 'insufficient_quota');
      expect(s.upstream.requests).toHaveLength(1);
    });

    it('refuses a content part of a kind nobody priced', async () => {
      const u = await newUser();
      const res = await ask(u, [
        { type: 'text', text: 'hi' },
        { type: 'input_video', input_video: { data: 'AAAA' } },
      ]);
      const error = expectError(res, 400);
      expect(error.param).toBe('messages.0.content.1.type');
      expect(s.upstream.requests).toHaveLength(0);
    });
  });

  it('holds n choices times max_tokens against the budget: 30 concurrent n=8 calls stay within it', async () => {
    const budget = 0.05;
    const u = await newUser({ budget: { amount_usd: budget, period: 'day' } });
    // Each choice is 100 words, each billed: 8 × 100 × $10/M = $0.008 an answer.
    s.upstream.setDefault({ kind: 'reply', text: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '), delayMs: 30 });
    const results = await Promise.all(Array.from({ length: 30 }, () => ask(u, 'Say a hundred words.', { n: 8, max_tokens: 100 })));
    const admitted = results.filter((r) => r.status === 200);
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThan(30);
    for (const r of results.filter((x) => x.status !== 200)) expectError(r, 429, 'insufficient_quota');
    expect(admitted[0].body.choices).toHaveLength(8);
    const spent = (await recordsOf(u.id)).reduce((n, r) => n + Number(r.costMicros), 0);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(micros(budget));
  });

  describe('text PostgreSQL cannot store', () => {
    it.each([
      ['/v1/chat/completions', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/embeddings', { model: 'standin-embed', input: 'hi' }],
      ['/v1/images/generations', { model: 'standin-dalle', prompt: 'a cat' }],
      ['/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hi' }] }],
    ])('is refused with 400 before any upstream call on %s (a NUL in user)', async (path, body) => {
      const u = await newUser();
      const res = await u.api.post(path, { ...body, user: 'end-user\u0000x' });
      expect(expectError(res, 400).param).toBe('user');
      expect(s.upstream.requests).toHaveLength(0);
      expect(await recordsOf(u.id)).toHaveLength(0);
    });
  });

  describe('upstream usage is believed only when it is believable', () => {
    it.each([
      ['a string', { prompt_tokens: 12, completion_tokens: 'abc', total_tokens: 'abc' }],
      ['a negative refund', { prompt_tokens: -100_000, completion_tokens: -100_000, total_tokens: -200_000 }],
      ['billions of tokens', { prompt_tokens: 12, completion_tokens: 3e9, total_tokens: 3e9 }],
    ])('meters %s at our own count (estimated), and the token windows keep working', async (_what, rawUsage) => {
      const u = await newUser({}, { limits: { tpm: 5_000 } });
      s.upstream.script({ kind: 'reply', text: 'four words come back', rawUsage }, { kind: 'reply', text: 'four words come back', rawUsage });
      const blocking = await ask(u, 'hello');
      expect(blocking.status).toBe(200);
      expect(blocking.body.usage).toMatchObject({ completion_tokens: 4 });
      const { frames } = await postSse(s.t.url, u.key, '/v1/chat/completions', {
        model: 'standin-gpt',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'hello' }],
        stream_options: { include_usage: true },
      });
      expect(frames.at(-2)!.data.usage).toMatchObject({ completion_tokens: 4 });
      for (const r of await recordsOf(u.id)) expect(r).toMatchObject({ status: 'ok', estimated: true, completionTokens: 4 });
      // The windows hold numbers: the next calls are admitted, and the header says what is left.
      const next = await ask(u, 'again');
      expect(next.status).toBe(200);
      expect(Number(next.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(4_000);
    });

    it('lets no negative usage refund a budget: ten calls of about $0.004 pass a $0.005 budget once or twice, never ten times', async () => {
      const u = await newUser({ budget: { amount_usd: 0.005, period: 'day' } });
      s.upstream.setDefault({
        kind: 'reply',
        text: Array.from({ length: 400 }, (_, i) => `w${i}`).join(' '),
        rawUsage: { prompt_tokens: -1_000_000, completion_tokens: -1_000_000, total_tokens: -2_000_000 },
      });
      let admitted = 0;
      for (let i = 0; i < 10; i++) if ((await ask(u, 'Say four hundred words.', { max_tokens: 450 })).status === 200) admitted++;
      expect(admitted).toBeGreaterThan(0);
      expect(admitted).toBeLessThan(3);
      const spent = (await recordsOf(u.id)).reduce((n, r) => n + Number(r.costMicros), 0);
      expect(spent).toBeLessThanOrEqual(micros(0.005));
      expect(spent).toBeGreaterThanOrEqual(admitted * 400 * STANDIN_PRICING.output);
    });
  });

  describe('a stream that ends without finish_reason or [DONE]', () => {
    it('on /v1: an in-band error before [DONE], and a record marked incomplete', async () => {
      const u = await newUser();
      s.upstream.script({ kind: 'truncate', afterChunks: 3 });
      const { res, frames } = await postSse(s.t.url, u.key, '/v1/chat/completions', {
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'go' }],
      });
      expect(res.status).toBe(200);
      const error = frames.find((f: SseFrame) => f.data?.error);
      expect(error?.data.error).toMatchObject({ code: 'upstream_incomplete', type: 'api_error' });
      expect(frames.at(-1)!.data).toBe('[DONE]');
      const [record] = await recordsOf(u.id);
      expect(record).toMatchObject({ status: 'incomplete', errorCode: 'upstream_incomplete' });
      expect(record.completionTokens).toBeGreaterThan(0);
    });

    it('on /chat: the partial answer stored as incomplete, the record too', async () => {
      const u = await newUser();
      s.upstream.script({ kind: 'truncate', afterChunks: 4, text: 'one two three four five six' });
      const { frames } = await postSse(s.t.url, u.key, '/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'go' }] });
      expect(frames.find((f: SseFrame) => f.data?.error)?.data.error.code).toBe('upstream_incomplete');
      expect(frames.at(-1)!.data).toBe('[DONE]');
      const [record] = await recordsOf(u.id);
      expect(record).toMatchObject({ status: 'incomplete' });
      const messages = await s.t.prisma.message.findMany({ where: { conversationId: record.conversationId! }, orderBy: { id: 'asc' } });
      expect(messages.map((m) => [m.role, m.status])).toEqual([
        ['user', 'complete'],
        ['assistant', 'incomplete'],
      ]);
      expect(messages[1].content).toBe('one two three four');
    });
  });

  describe('/chat when the conversation cannot be stored', () => {
    beforeAll(async () => {
      // A storage failure no validation can foresee: the database refuses one marked message.
      await s.t.prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_marked() RETURNS trigger AS $$
        BEGIN IF NEW.content::text LIKE '%STORE-FAILS%' THEN RAISE EXCEPTION 'simulated storage failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
      await s.t.prisma.$executeRawUnsafe('CREATE TRIGGER refuse_marked BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_marked()');
    });

    it('answers an error, and the paid call is on the ledger and in the budget', async () => {
      const u = await newUser({ budget: { amount_usd: 10, period: 'day' } });
      const res = await u.api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'STORE-FAILS please' }] });
      expectError(res, 500, 'storage_failed');
      const [record] = await recordsOf(u.id);
      expect(record).toMatchObject({ status: 'ok', conversationId: null });
      expect(Number(record.costMicros)).toBeGreaterThan(0);
      expect(await s.t.prisma.conversation.count({ where: { userId: u.id } })).toBe(0);
      const report = await u.api.get('/usage');
      expect(report.body.totals.cost_usd).toBeCloseTo(Number(record.costMicros) / 1e6, 9);
    });

    it('streamed: the whole answer, then an in-band error frame and [DONE]', async () => {
      const u = await newUser();
      const { res, frames } = await postSse(s.t.url, u.key, '/chat', {
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'STORE-FAILS again' }],
      });
      expect(res.status).toBe(200);
      const text = frames.map((f: SseFrame) => f.data?.choices?.[0]?.delta?.content ?? '').join('');
      expect(text).toBe('Stand-in reply to: STORE-FAILS again');
      expect(frames.at(-2)!.data.error).toMatchObject({ code: 'storage_failed' });
      expect(frames.at(-1)!.data).toBe('[DONE]');
      expect(await recordsOf(u.id)).toHaveLength(1);
    });
  });

  it('keeps every budget with every part kind, n and hostile usage at once, and /usage equals the records', async () => {
    const budget = 0.03;
    const u = await newUser({ budget: { amount_usd: budget, period: 'day' } });
    const hostile = [
      { prompt_tokens: 'x', completion_tokens: 1 },
      { prompt_tokens: -5, completion_tokens: -5 },
      { prompt_tokens: 1, completion_tokens: 9e15 },
    ];
    // Long answers (150 words a choice), so that what a call really costs is far from nothing.
    const text = Array.from({ length: 150 }, (_, i) => `w${i}`).join(' ');
    const calls = Array.from({ length: 36 }, (_, i) => {
      const kind = i % 6;
      // Slow enough that every call is admitted (or not) before the first one settles.
      s.upstream.script(kind === 3 ? { kind: 'reply', text, delayMs: 300, rawUsage: hostile[i % 3] } : { kind: 'reply', text, delayMs: 300 });
      const content =
        kind === 0
          ? 'plain text'
          : kind === 1
            ? [{ type: 'text', text: 'look' }, imagePart]
            : kind === 2
              ? [{ type: 'text', text: 'listen' }, audioPart(5)]
              : kind === 4
                ? [{ type: 'text', text: 'read' }, pdfPart()]
                : 'n of them';
      return ask(u, content, { max_tokens: 200, ...(kind === 5 ? { n: 4 } : {}) });
    });
    const results = await Promise.all(calls);
    expect(results.some((r) => r.status === 200)).toBe(true);
    expect(results.some((r) => r.status === 429)).toBe(true);
    const records = await recordsOf(u.id);
    const spent = records.reduce((n, r) => n + Number(r.costMicros), 0);
    expect(spent).toBeLessThanOrEqual(micros(budget));
    // What the stand-in billed for each believable call is what was recorded.
    for (const r of records.filter((x) => !x.estimated)) expect(r.promptTokens).toBeGreaterThan(0);
    const billed = s.upstream.requests.map((req) => estimateUsage(req.body!, '').prompt_tokens);
    for (const r of records.filter((x) => !x.estimated)) expect(billed).toContain(r.promptTokens);
    const report = await u.api.get('/usage');
    expect(report.body.totals.requests).toBe(records.length);
    expect(Math.round(report.body.totals.cost_usd * 1e6)).toBe(spent);
  });
});
