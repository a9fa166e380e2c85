import { UsageRecorder } from '../../src/metering/ledger/usage-recorder.service.js';
import { client, expectError, postSse as sse } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { STANDIN_PRICING, writeTestConfig } from '../support/test-config.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';

describe('/chat: conversations, sessions and metering', () => {
  let upstream: StandInUpstream;
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  let api: ReturnType<typeof client>;
  let userKey: string;
  let userId: string;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    t = await startTestApp({ env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), UPSTREAM_MAX_RETRIES: '0' } });
    admin = client(t.url, t.adminKey);
    const user = await admin.post('/users', { name: 'chatter' });
    userId = user.body.id;
    userKey = (await admin.post(`/users/${userId}/keys`, {})).body.key;
    api = client(t.url, userKey);
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });
  beforeEach(() => upstream.reset());

  const records = async () => {
    await t.app.get(UsageRecorder).flush();
    return t.prisma.usageRecord.findMany({ where: { userId }, orderBy: { id: 'asc' } });
  };

  it('creates a conversation and answers with conversation_id, session_id and cost', async () => {
    const res = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'Hello, remember the word kiwi.' }] });
    expect(res.status).toBe(200);
    assertOpenAI('CreateChatCompletionResponse', res.body);
    expect(res.body).toMatchObject({
      object: 'chat.completion',
      model: 'standin-gpt',
      conversation_id: expect.any(String),
      session_id: expect.any(String),
    });
    expect(res.headers.get('x-conversation-id')).toBe(res.body.conversation_id);
    const { prompt_tokens, completion_tokens } = res.body.usage;
    // USD per 1M tokens is micro-dollars per token; a call's cost is rounded to whole micro-dollars.
    expect(res.body.cost).toBe(Math.round(prompt_tokens * STANDIN_PRICING.input + completion_tokens * STANDIN_PRICING.output) / 1e6);

    const conversation = await api.get(`/conversations/${res.body.conversation_id}`);
    expect(conversation.body).toMatchObject({
      title: 'Hello, remember the word kiwi.',
      message_count: 2,
      prompt_tokens,
      completion_tokens,
      session_id: res.body.session_id,
      model: 'standin-gpt',
    });
    expect(conversation.body.cost_usd).toBeCloseTo(res.body.cost, 9);
  });

  it('continues a conversation from its stored history', async () => {
    const first = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'My name is Ada.' }] });
    const second = await api.post('/chat', {
      conversation_id: first.body.conversation_id,
      messages: [{ role: 'user', content: 'What is my name?' }],
    });
    expect(second.status).toBe(200);
    expect(second.body.conversation_id).toBe(first.body.conversation_id);
    const sent = upstream.requests[1].body!.messages as Array<{ role: string; content: string }>;
    expect(sent).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Stand-in reply to: My name is Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);
    // The model of the conversation is used when the turn names none.
    expect(upstream.requests[1].body!.model).toBe('gpt-standin');
    const messages = await api.get(`/conversations/${first.body.conversation_id}/messages`);
    expect(messages.body.data.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(messages.body.data[3]).toMatchObject({ status: 'complete', model: 'standin-gpt', finish_reason: 'stop' });
  });

  it('streams a turn with x-conversation-id and a last chunk carrying usage, conversation_id and cost', async () => {
    const { res, frames } = await sse(t.url, userKey, '/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'stream me' }] });
    expect(res.status).toBe(200);
    const conversationId = res.headers.get('x-conversation-id');
    expect(conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    const last = frames.at(-2)!.data;
    assertOpenAI('CreateChatCompletionStreamResponse', last);
    expect(last).toMatchObject({ choices: [], conversation_id: conversationId, usage: { completion_tokens: 5 }, cost: expect.any(Number) });
    for (const frame of frames.slice(0, -1)) assertOpenAI('CreateChatCompletionStreamResponse', frame.data);
    const text = frames
      .slice(0, -2)
      .map((f) => f.data.choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('Stand-in reply to: stream me');
    const stored = await api.get(`/conversations/${conversationId}/messages`);
    expect(stored.body.data.at(-1)).toMatchObject({ role: 'assistant', content: text, status: 'complete' });
  });

  it('trims the oldest turns to fit the context window, keeping the system prompt', async () => {
    // standin-text has a 2,000-token window with 512 reserved for the answer.
    const first = await api.post('/chat', {
      model: 'standin-text',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: `first ${'alpha '.repeat(400)}` },
      ],
    });
    expect(first.status).toBe(200);
    const id = first.body.conversation_id;
    await api.post('/chat', { conversation_id: id, messages: [{ role: 'user', content: `second ${'beta '.repeat(400)}` }] });
    await api.post('/chat', { conversation_id: id, messages: [{ role: 'user', content: `third ${'gamma '.repeat(400)}` }] });
    const last = upstream.requests.at(-1)!.body!.messages as Array<{ role: string; content: string }>;
    expect(last[0]).toEqual({ role: 'system', content: 'You are terse.' });
    expect(last.some((m) => m.content.startsWith('first'))).toBe(false);
    expect(last.at(-1)!.content.startsWith('third')).toBe(true);
    // Nothing is deleted from the conversation itself.
    const stored = await api.get(`/conversations/${id}/messages?limit=100`);
    expect(stored.body.data).toHaveLength(7);
  });

  it('refuses a turn whose new messages cannot fit, before calling the upstream', async () => {
    const res = await api.post('/chat', { model: 'standin-text', messages: [{ role: 'user', content: 'delta '.repeat(3000) }] });
    expectError(res, 400, 'context_length_exceeded');
    expect(upstream.requests).toHaveLength(0);
  });

  it('applies a profile over a model: persona prompt upstream, the model named in the response, kept for later turns', async () => {
    const res = await api.post('/chat', {
      model: 'standin-gpt',
      profile: 'luminary/marie_curie',
      messages: [{ role: 'user', content: 'What is radium?' }],
    });
    expect(res.body.model).toBe('standin-gpt');
    const sent = upstream.requests[0].body!.messages as Array<{ role: string; content: string }>;
    expect(sent[0].role).toBe('system');
    expect(sent[0].content).toContain('Curie');
    expect((await api.get(`/conversations/${res.body.conversation_id}`)).body.profile).toBe('luminary/marie_curie');
    await api.post('/chat', { conversation_id: res.body.conversation_id, messages: [{ role: 'user', content: 'And polonium?' }] });
    const next = upstream.requests[1].body!.messages as Array<{ role: string; content: string }>;
    expect(next[0].content).toContain('Curie');
    expect(next.filter((m) => m.role === 'system')).toHaveLength(1);
    expectError(await api.post('/chat', { profile: 'luminary/nobody', messages: [{ role: 'user', content: 'x' }] }), 404);

    // profile: null turns the persona off for this and later turns; PATCH can set it again.
    const id = res.body.conversation_id;
    await api.post('/chat', { conversation_id: id, profile: null, messages: [{ role: 'user', content: 'Plainly now.' }] });
    expect((upstream.requests.at(-1)!.body!.messages as Array<{ role: string }>).some((m) => m.role === 'system')).toBe(false);
    expect((await api.get(`/conversations/${id}`)).body.profile).toBeNull();
    const patched = await api.patch(`/conversations/${id}`, { profile: 'luminary/socrates', model: 'standin-gpt' });
    expect(patched.body).toMatchObject({ profile: 'luminary/socrates', model: 'standin-gpt' });
    await api.post('/chat', { conversation_id: id, messages: [{ role: 'user', content: 'And now?' }] });
    expect((upstream.requests.at(-1)!.body!.messages as Array<{ content: string }>)[0].content).toContain('Socrates');
    expectError(await api.patch(`/conversations/${id}`, { profile: 'luminary/nobody' }), 404);
  });

  it('stores a stream cut short by the client as incomplete, meters it, and keeps serving', async () => {
    upstream.setDefault({ kind: 'reply', text: Array.from({ length: 300 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 10 });
    const controller = new AbortController();
    const res = await fetch(`${t.url}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] }),
      signal: controller.signal,
    });
    const conversationId = res.headers.get('x-conversation-id')!;
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('w10')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await upstream.idle();
    let messages: any[] = [];
    await waitFor(async () => (messages = (await api.get(`/conversations/${conversationId}/messages`)).body.data ?? []).length === 2);
    expect(messages[1]).toMatchObject({ role: 'assistant', status: 'incomplete' });
    expect(messages[1].content).toMatch(/^w0 w1 w2/);
    expect(messages[1].content).not.toContain('w299');
    const record = (await records()).find((r) => r.conversationId === conversationId)!;
    expect(record).toMatchObject({ status: 'aborted', estimated: true });
    expect(record.completionTokens).toBeGreaterThan(10);
    expect(record.promptTokens).toBeGreaterThan(0);
    upstream.reset();
    expect((await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'still up?' }] })).status).toBe(200);
  });

  it('creates no conversation when the client leaves before the first word, but meters the call', async () => {
    // The upstream takes the call and says nothing: the client leaves once the call is made.
    upstream.setDefault({ kind: 'hang' });
    const before = (await api.get('/conversations?limit=100')).body.data.length;
    const controller = new AbortController();
    const called = upstream.nextRequest();
    const pending = fetch(`${t.url}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'never mind' }] }),
      signal: controller.signal,
    }).catch(() => null);
    await called;
    controller.abort();
    await pending;
    let aborted: Awaited<ReturnType<typeof records>> = [];
    await waitFor(async () => (aborted = (await records()).filter((r) => r.status === 'aborted' && r.conversationId === null)).length > 0);
    expect(aborted.at(-1)!.estimated).toBe(true);
    expect((await api.get('/conversations?limit=100')).body.data.length).toBe(before);
  });

  it('keeps no half-written conversation when the upstream fails, but meters the failure', async () => {
    upstream.setDefault({ kind: 'error', status: 500 });
    const before = (await api.get('/conversations?limit=100')).body.data.length;
    const res = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'doomed' }] });
    expectError(res, 502);
    expect((await api.get('/conversations?limit=100')).body.data.length).toBe(before);
    const failed = (await records()).at(-1)!;
    expect(failed).toMatchObject({ status: 'error', conversationId: null, promptTokens: 0, completionTokens: 0, endpoint: '/chat' });
    expect(failed.sessionId).toBeTruthy();
  });

  it("answers another user's conversation with 404 everywhere; admins may read it", async () => {
    const mine = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'private' }] });
    const other = await admin.post('/users', { name: 'snoop' });
    const snoop = client(t.url, (await admin.post(`/users/${other.body.id}/keys`, {})).body.key);
    const id = mine.body.conversation_id;
    expectError(await snoop.get(`/conversations/${id}`), 404);
    expectError(await snoop.get(`/conversations/${id}/messages`), 404);
    expectError(await snoop.patch(`/conversations/${id}`, { title: 'mine now' }), 404);
    expectError(await snoop.delete(`/conversations/${id}`), 404);
    expectError(await snoop.post('/chat', { conversation_id: id, messages: [{ role: 'user', content: 'hi' }] }), 404);
    expectError(await snoop.get(`/sessions/${mine.body.session_id}`), 404);
    expectError(await snoop.get(`/users/${userId}/stats`), 404);
    expectError(await snoop.get(`/users/${userId}/sessions`), 404);
    expect((await snoop.get('/conversations')).body.data).toEqual([]);
    expect((await admin.get(`/conversations/${id}`)).status).toBe(200);
    expect((await admin.get(`/users/${userId}/stats`)).status).toBe(200);
    expect((await admin.get(`/conversations?user_id=${userId}`)).body.data.length).toBeGreaterThan(0);
    expectError(await snoop.get(`/conversations?user_id=${userId}`), 404);
  });

  it('manages conversations: create, filter, rename, tag, soft delete', async () => {
    const session = await api.post('/sessions', { metadata: { device: 'laptop' } });
    const created = await api.post('/conversations', {
      title: 'Quarterly planning',
      tags: ['work', 'q3'],
      metadata: { team: 'ops' },
      session_id: session.body.id,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'conversation', title: 'Quarterly planning', tags: ['work', 'q3'], message_count: 0 });
    await api.post('/conversations', { title: 'Holiday ideas', tags: ['personal'] });
    const byTag = await api.get('/conversations?tag=work');
    expect(byTag.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    const byTitle = await api.get('/conversations?q=PLANNING');
    expect(byTitle.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    const bySession = await api.get(`/conversations?session_id=${session.body.id}`);
    expect(bySession.body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    const renamed = await api.patch(`/conversations/${created.body.id}`, { title: 'Q3 planning', tags: ['work'], summary: 'Budget and hiring.' });
    expect(renamed.body).toMatchObject({ title: 'Q3 planning', tags: ['work'], summary: 'Budget and hiring.', metadata: { team: 'ops' } });
    const turn = await api.post('/chat', { conversation_id: created.body.id, messages: [{ role: 'user', content: 'Agenda?' }] });
    expect(turn.status).toBe(200);
    // The assistant message keeps its round's cost: the turn's cost, as the ledger has it.
    const stored = (await api.get(`/conversations/${created.body.id}/messages`)).body.data;
    expect(stored.map((m: { role: string; cost_usd: number | null }) => [m.role, m.cost_usd])).toEqual([
      ['user', null],
      ['assistant', turn.body.cost],
    ]);
    // q matches message text too (case-insensitive), only the caller's own.
    expect((await api.get('/conversations?q=agenda')).body.data.map((c: { id: string }) => c.id)).toEqual([created.body.id]);
    const stranger = await admin.post('/users', { name: 'q-stranger' });
    const strangerApi = client(t.url, (await admin.post(`/users/${stranger.body.id}/keys`, {})).body.key);
    expect((await strangerApi.get('/conversations?q=agenda')).body.data).toEqual([]);
    expect((await api.delete(`/conversations/${created.body.id}`)).body).toEqual({ id: created.body.id, object: 'conversation', deleted: true });
    expectError(await api.get(`/conversations/${created.body.id}`), 404);
    expectError(await api.post('/chat', { conversation_id: created.body.id, messages: [{ role: 'user', content: 'x' }] }), 404);
    expect((await api.get('/conversations?tag=work')).body.data).toEqual([]);
    expectError(await api.post('/conversations', { title: 'x', model: 'nope' }), 404);
    expectError(await api.post('/conversations', { title: 'x', unknown_field: 1 }), 400);
  });

  it('pages messages chronologically', async () => {
    const first = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'one' }] });
    const id = first.body.conversation_id;
    await api.post('/chat', { conversation_id: id, messages: [{ role: 'user', content: 'two' }] });
    const page1 = await api.get(`/conversations/${id}/messages?limit=3`);
    expect(page1.body).toMatchObject({ object: 'list', has_more: true });
    expect(page1.body.data.map((m: { content: string }) => m.content)).toEqual(['one', 'Stand-in reply to: one', 'two']);
    const page2 = await api.get(`/conversations/${id}/messages?limit=3&after=${page1.body.last_id}`);
    expect(page2.body).toMatchObject({ has_more: false, data: [{ content: 'Stand-in reply to: two' }] });
  });

  it('groups requests into the active session, and starts a new one after it ends', async () => {
    const a = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'a' }] });
    const b = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'b' }] });
    expect(b.body.session_id).toBe(a.body.session_id);
    const ended = await api.post(`/sessions/${a.body.session_id}/end`);
    expect(ended.body).toMatchObject({ active: false, ended_at: expect.any(Number) });
    const c = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'c' }] });
    expect(c.body.session_id).not.toBe(a.body.session_id);
    expectError(await api.post('/chat', { session_id: a.body.session_id, messages: [{ role: 'user', content: 'x' }] }), 409, 'session_ended');
    const explicit = await api.post('/sessions', {});
    const d = await api.post('/chat', { model: 'standin-gpt', session_id: explicit.body.id, messages: [{ role: 'user', content: 'd' }] });
    expect(d.body.session_id).toBe(explicit.body.id);
    const list = await api.get('/users/me/sessions?limit=100');
    expect(list.body.data.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([a.body.session_id, c.body.session_id, explicit.body.id]));
    const active = await api.get('/users/me/sessions?active=true&limit=100');
    expect(active.body.data.map((s: { id: string }) => s.id)).not.toContain(a.body.session_id);
  });

  it('keeps totals that equal the sums of the usage records under concurrency', async () => {
    const fresh = await admin.post('/users', { name: 'concurrent' });
    const key = (await admin.post(`/users/${fresh.body.id}/keys`, {})).body.key;
    const c = client(t.url, key);
    upstream.setDefault({ kind: 'reply', chunkDelayMs: 2 });
    const shared = await c.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'start' }] });
    const jobs = Array.from({ length: 16 }, (_, i) => {
      const body = {
        model: 'standin-gpt',
        messages: [{ role: 'user', content: `request number ${i}` }],
        ...(i % 2 ? { conversation_id: shared.body.conversation_id } : {}),
      };
      if (i % 4 === 0) return sse(t.url, key, '/chat', body).then((r) => r.res.status);
      if (i % 4 === 1) return sse(t.url, key, '/v1/chat/completions', { ...body, conversation_id: undefined }).then((r) => r.res.status);
      return c.post('/chat', body).then((r) => r.status);
    });
    expect(await Promise.all(jobs)).toEqual(Array(16).fill(200));
    await t.app.get(UsageRecorder).flush();
    const rows = await t.prisma.usageRecord.findMany({ where: { userId: fresh.body.id } });
    expect(rows).toHaveLength(17);
    expect(rows.every((r) => r.status === 'ok')).toBe(true);

    const sumOf = (list: typeof rows) => ({
      prompt: list.reduce((n, r) => n + r.promptTokens, 0),
      completion: list.reduce((n, r) => n + r.completionTokens, 0),
      cost: list.reduce((n, r) => n + Number(r.costMicros), 0),
    });
    const conversations = (await c.get('/conversations?limit=100')).body.data as any[];
    for (const conv of conversations) {
      const s = sumOf(rows.filter((r) => r.conversationId === conv.id));
      expect({ id: conv.id, prompt: conv.prompt_tokens, completion: conv.completion_tokens, cost: Math.round(conv.cost_usd * 1e6) }).toEqual({
        id: conv.id,
        ...s,
      });
    }
    const sessions = (await c.get('/users/me/sessions?limit=100')).body.data as any[];
    expect(sessions).toHaveLength(1);
    const chatRows = rows.filter((r) => r.endpoint === '/chat');
    expect(sessions[0]).toMatchObject({
      // The first turn and the 8 new /chat turns (i % 4 of 0 or 2) started conversations; each
      // /chat turn stored its user message and the answer.
      conversation_count: 9,
      message_count: 2 * (1 + 8 + 4),
      request_count: chatRows.length,
      prompt_tokens: sumOf(chatRows).prompt,
      completion_tokens: sumOf(chatRows).completion,
    });
    expect(Math.round(sessions[0].cost_usd * 1e6)).toBe(sumOf(chatRows).cost);
    const stats = (await c.get('/users/me/stats')).body;
    const all = sumOf(rows);
    expect(stats).toMatchObject({ requests: 17, prompt_tokens: all.prompt, completion_tokens: all.completion, sessions: 1 });
    expect(Math.round(stats.cost_usd * 1e6)).toBe(all.cost);
    expect(stats.by_model).toEqual([expect.objectContaining({ model: 'standin-gpt', requests: 17 })]);
    // Requests 3, 7, 11 and 15 continued the shared conversation through /chat.
    const sharedConversation = conversations.find((x) => x.id === shared.body.conversation_id);
    expect(sharedConversation.message_count).toBe(2 + 2 * 4);
  });
});

describe('/chat and /v1 with no provider key configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers through colloquy/echo by default, echoing the last user text', async () => {
    const api = client(t.url, t.adminKey);
    const chat = await api.post('/chat', { messages: [{ role: 'user', content: 'Is anyone there?' }] });
    expect(chat.status).toBe(200);
    expect(chat.body).toMatchObject({ model: 'colloquy/echo', cost: 0, choices: [{ message: { content: 'Is anyone there?' } }] });
    const v1 = await api.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'ping' }] });
    assertOpenAI('CreateChatCompletionResponse', v1.body);
    expect(v1.body.choices[0].message.content).toBe('ping');
    const { frames } = await sse(t.url, t.adminKey, '/v1/chat/completions', {
      model: 'colloquy/echo',
      messages: [{ role: 'user', content: 'one two three' }],
    });
    const words = frames.filter((f) => f.data !== '[DONE]' && f.data.choices[0]?.delta?.content).map((f) => f.data.choices[0].delta.content);
    expect(words).toEqual(['one ', 'two ', 'three']);
  });
});

describe('streams that pause', () => {
  let upstream: StandInUpstream;
  let t: TestApp;
  beforeAll(async () => {
    upstream = await startStandInUpstream();
    t = await startTestApp({
      env: { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }, { upstream: { ping_interval_ms: 50 } }) },
    });
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  it('send a `: ping` comment while the upstream is silent, and still end properly', async () => {
    upstream.setDefault({ kind: 'reply', text: 'slow and steady', chunkDelayMs: 250 });
    const res = await fetch(`${t.url}/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'take your time' }] }),
    });
    const text = await res.text();
    expect(text).toContain(': ping\n\n');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    const content = text
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)).choices[0]?.delta?.content ?? '')
      .join('');
    expect(content).toBe('slow and steady');
  });
});
