import WebSocket from 'ws';
import { smartHostSocketTurn as smartHostSocket } from '../support/chat-socket-client.js';
import { expectError } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import { usageRecords, waitFor, type TestApp } from '../support/test-app.js';
import { SEED_CONFIG, SMART_HOST } from '../support/seed-requests.js';
import { createUser } from '../support/users.js';

const SEED = SMART_HOST;

type Sent = Array<{ role: string; content: string }>;

describe('Smart-Host compatibility (seed 002)', () => {
  const stack = useStandInApp({}, SEED_CONFIG);
  let upstream: StandInUpstream;
  let t: TestApp;
  beforeAll(() => ({ upstream, t } = stack));

  const newAccount = async () => createUser(t.url, t.adminKey);
  const sentAt = (i: number) => upstream.requests[i].body!.messages as Sent;

  it("answers its /chat request: the provider's model reached by name (unpriced), chat_id as the conversation key, the answer plus chat_id", async () => {
    const { api, id } = await newAccount();
    const res = await api.post('/chat', SEED.chat);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'chat.completion', chat_id: 'user-123', conversation_key: 'user-123' });
    expect(res.body.choices[0].message.content).toBe('Stand-in reply to: Hello, how are you?');
    const sent = upstream.requests[0].body!;
    expect(sent.model).toBe('gpt-3.5-turbo');
    expect(sent).not.toHaveProperty('provider');
    expect(sent).not.toHaveProperty('chat_id');
    expect(upstream.requests[0].headers.authorization).toBe('Bearer sk-standin-openai');
    // Its own system message wins over the default profile's.
    expect(sent.messages).toEqual(SEED.chat.messages);

    const conversation = await api.get('/conversations/user-123');
    expect(conversation.body).toMatchObject({ id: res.body.conversation_id, key: 'user-123' });
    expect((await api.get('/conversations/user-123/messages')).body.data.map((m: { role: string }) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
    ]);
    const records = (await usageRecords(t)).filter((r) => r.userId === id);
    expect(records).toMatchObject([{ provider: 'openai', upstreamModel: 'gpt-3.5-turbo', conversationId: res.body.conversation_id, status: 'ok' }]);
    expect(records[0].promptTokens).toBeGreaterThan(0);
    // Reached by name, not priced in the catalog: recorded at zero cost, with a warning saying so.
    expect(records[0]).toMatchObject({ costMicros: 0n, warning: expect.stringMatching(/^Unpriced: .*openai\/gpt-3\.5-turbo/) });

    // The same chat_id continues the conversation, and its system prompt is sent once.
    await api.post('/chat', SEED.chat);
    expect(sentAt(1).map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
  });

  it('applies its prompt profiles (default, programmer, concise)', async () => {
    const { api } = await newAccount();
    expect((await api.post('/chat', SEED.profile)).status).toBe(200);
    expect(sentAt(0)[0]).toMatchObject({ role: 'system', content: expect.stringMatching(/^You are an expert programmer\./) });
    expect((await api.post('/chat', { ...SEED.profile, profile: 'concise' })).status).toBe(200);
    expect(sentAt(1)[0].content).toMatch(/concise/);
    expectError(await api.post('/chat', { ...SEED.profile, profile: 'nope' }), 404, 'profile_not_found');
    expectError(await api.post('/chat', { ...SEED.profile, provider: 'nowhere' }), 404, 'provider_not_found');
  });

  it('answers /embed and /image as /v1 does, metered on the provider named', async () => {
    const { api, id } = await newAccount();
    const embed = await api.post('/embed', SEED.embed);
    expect(embed.status).toBe(200);
    expect(embed.body).toMatchObject({ object: 'list', data: [{ object: 'embedding', index: 0 }] });
    expect(upstream.requests[0]).toMatchObject({ path: '/v1/embeddings', body: { model: 'text-embedding-ada-002', input: ['Text to embed'] } });
    expect(upstream.requests[0].body).not.toHaveProperty('provider');

    const image = await api.post('/image', SEED.image);
    expect(image.status).toBe(200);
    expect(image.body.data).toHaveLength(1);
    expect(upstream.requests[1]).toMatchObject({ path: '/v1/images/generations', body: { model: 'dall-e-3', prompt: SEED.image.prompt } });
    expect(upstream.requests[1].body).not.toHaveProperty('provider');
    const records = (await usageRecords(t)).filter((r) => r.userId === id);
    expect(records.map((r) => [r.endpoint, r.upstreamModel, r.status])).toEqual([
      ['/embed', 'text-embedding-ada-002', 'ok'],
      ['/image', 'dall-e-3', 'ok'],
    ]);
    expect(Number(records[1].costMicros)).toBe(40_000);
    expect(records.map((r) => r.warning)).toEqual([null, null]);
    expectError(await api.post('/embed', { ...SEED.embed, input: '' }), 400);
  });

  it('answers /call_tool for a tool it does not have as 404, OpenAI-shaped', async () => {
    const { api } = await newAccount();
    expectError(await api.post('/call_tool', SEED.callTool), 404);
  });

  it('streams /ws_chat as plain-text deltas ending in [END]; a failure is [ERROR] then [END]; stored and metered like /chat', async () => {
    const { key, id, api } = await newAccount();
    const frames = await smartHostSocket(t.url, key, SEED.socket);
    expect(frames.at(-1)).toBe('[END]');
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.slice(0, -1).join('')).toBe('Stand-in reply to: Tell me a story');
    // No model: the provider's first catalog model.
    expect(upstream.requests[0].body!.model).toBe('gpt-4o-standin');
    const records = (await usageRecords(t)).filter((r) => r.userId === id);
    expect(records).toMatchObject([{ endpoint: '/ws_chat', status: 'ok' }]);
    expect((await api.get('/conversations')).body.data).toHaveLength(1);

    const bad = await smartHostSocket(t.url, key, { provider: 'openai', messages: [] });
    expect(bad).toEqual([expect.stringMatching(/^\[ERROR\] .*messages/), '[END]']);
    const notJson = await smartHostSocket(t.url, key, 'hello');
    expect(notJson).toEqual([expect.stringMatching(/^\[ERROR\] /), '[END]']);
    await expect(smartHostSocket(t.url, null, SEED.socket)).rejects.toThrow(/401/);
  });

  it("gives its memory example's behaviour: the second conversation sees the first one's saved fact", async () => {
    const { api } = await newAccount();
    for (const request of SEED.memory) expect((await api.post('/chat', request)).status).toBe(200);
    // Request 2 continues conversation-1: the first exchange is in its prompt.
    expect(sentAt(1).map((m) => m.content)).toEqual([
      'My name is Alice and I love blue.',
      'Stand-in reply to: My name is Alice and I love blue.',
      "What's my name?",
    ]);
    // Request 3 is a new conversation: no history, but user-123's memory.
    const third = sentAt(2);
    expect(third.map((m) => m.role)).toEqual(['system', 'user']);
    expect(third[0].content).toContain('My name is Alice and I love blue.');

    const status = await api.get('/memory/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      object: 'memory.status',
      conversation_memory: { count: 2, ids: ['conversation-2', 'conversation-1'] },
      user_memory: { count: 1, ids: ['user-123'], users: [{ user_id: 'user-123', memories: 1 }] },
    });
    expect(status.body.conversation_memory.conversations[1]).toMatchObject({ key: 'conversation-1', user_id: 'user-123', messages: 4 });

    // The key is under the end user: found without user_id, as that end user's only one.
    expect((await api.delete('/memory/conversation/conversation-1')).body).toMatchObject({ object: 'conversation', deleted: true });
    expectError(await api.delete('/memory/conversation/conversation-1'), 404);
    expect((await api.delete('/memory/user/user-123')).body).toEqual({ object: 'memory.deleted', id: null, deleted: 1 });
    expect((await api.get('/memory/status')).body).toMatchObject({
      conversation_memory: { count: 1, ids: ['conversation-2'] },
      user_memory: { count: 0 },
    });
    // A new turn with the freed key starts afresh.
    await api.post('/chat', SEED.memory[1]);
    expect(sentAt(3).map((m) => m.role)).toEqual(['user']);
  });

  it("keeps accounts and end users apart on every route: another account's keys and end user ids reach nothing", async () => {
    const a = await newAccount();
    const b = await newAccount();
    await a.api.post('/chat', SEED.memory[0]);
    await a.api.post('/chat', { ...SEED.memory[0], user_id: 'user-999' });
    expect((await b.api.get('/memory/status')).body).toMatchObject({
      conversation_memory: { count: 0, ids: [] },
      user_memory: { count: 0, ids: [] },
    });
    expectError(await b.api.delete('/memory/conversation/conversation-1'), 404);
    expectError(await b.api.delete('/memory/conversation/conversation-1?user_id=user-123'), 404);
    expect((await b.api.delete('/memory/user/user-123')).body.deleted).toBe(0);
    const aConversation = (await a.api.get('/memory/status')).body.conversation_memory.conversations[0].id;
    expectError(await b.api.delete(`/memory/conversation/${aConversation}`), 404);
    // B on the socket with A's chat_id and user_id: its own conversation, none of A's history or memory.
    await smartHostSocket(t.url, b.key, { ...SEED.memory[1], include_user_memory: true });
    expect(upstream.requests.at(-1)!.body!.messages).toEqual([{ role: 'user', content: "What's my name?" }]);
    // B's own turn with the same chat_id and user_id is its own conversation, without A's history or memory.
    // Its /chat then continues B's own conversation-1 (the socket's turn), still without A's history or memory.
    await b.api.post('/chat', { ...SEED.memory[1], include_user_memory: true });
    expect(sentAt(3).map((m) => m.content)).toEqual(["What's my name?", "Stand-in reply to: What's my name?", "What's my name?"]);

    // Two of A's end users have conversation-1: the key alone is ambiguous; user_id picks one.
    expectError(await a.api.delete('/memory/conversation/conversation-1'), 409, 'conversation_key_ambiguous');
    expect((await a.api.delete('/memory/conversation/conversation-1?user_id=user-999')).status).toBe(200);
    expect((await a.api.get('/memory/status')).body.conversation_memory.conversations).toMatchObject([
      { key: 'conversation-1', user_id: 'user-123' },
    ]);
    // The account's own id names its own memories.
    await a.api.post('/memories', { content: 'Own fact.' });
    expect((await a.api.delete(`/memory/user/${a.id}`)).body.deleted).toBe(1);
    expect((await a.api.get('/memory/status')).body.user_memory.ids.sort()).toEqual(['user-123', 'user-999']);

    for (const [method, path] of [
      ['POST', '/embed'],
      ['POST', '/image'],
      ['GET', '/memory/status'],
      ['DELETE', '/memory/user/user-123'],
      ['DELETE', '/memory/conversation/conversation-1'],
    ] as const) {
      expectError(await a.api.call(method, path, { key: null, body: method === 'POST' ? SEED.embed : undefined }), 401);
    }
  });

  it('queues its /chat body as a job: provider and chat_id read as on /chat, the job listed by its chat_id', async () => {
    const { api } = await newAccount();
    const submitted = await api.post('/jobs', { ...SEED.chat, chat_id: 'queued-chat' });
    expect(submitted.status).toBe(202);
    expect(submitted.body.model).toBe('openai/gpt-3.5-turbo');
    expect((await api.get('/jobs?conversation_id=queued-chat')).body.data.map((j: { id: string }) => j.id)).toEqual([submitted.body.id]);
    let job: any;
    await waitFor(async () => ['succeeded', 'failed'].includes((job = (await api.get(`/jobs/${submitted.body.id}`)).body).status));
    expect(job.status).toBe('succeeded');
    expect(upstream.requests[0].body!.model).toBe('gpt-3.5-turbo');
    expect((await api.get('/conversations/queued-chat')).body.id).toBe(job.conversation_id);
  });

  it("reads the account's own id as user_id as the account itself: its memories, deleted by that id", async () => {
    const { api, id } = await newAccount();
    await api.post('/chat', { ...SEED.memory[0], user_id: id });
    expect((await api.get('/memories')).body.data.map((m: { content: string }) => m.content)).toEqual(['My name is Alice and I love blue.']);
    expect((await api.get('/memory/status')).body.user_memory.ids).toEqual([id]);
    expect((await api.delete(`/memory/user/${id}`)).body.deleted).toBe(1);
  });

  it('answers a message sent while an answer streams on /ws_chat with [ERROR] alone: the answer goes on to its one [END]', async () => {
    const { key } = await newAccount();
    let release!: () => void;
    upstream.script({ kind: 'reply', until: new Promise<void>((r) => (release = r)) });
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/ws_chat`, { headers: { authorization: `Bearer ${key}` } });
    const frames: string[] = [];
    await new Promise((resolve) => socket.once('open', resolve));
    const ended = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        frames.push(data.toString());
        if (data.toString() === '[END]') resolve();
      }),
    );
    const arrived = upstream.nextRequest();
    socket.send(JSON.stringify(SEED.socket));
    await arrived;
    socket.send(JSON.stringify(SEED.socket));
    await waitFor(() => frames.length > 0);
    release();
    await ended;
    socket.close();
    expect(frames[0]).toMatch(/^\[ERROR\] An answer is still streaming/);
    expect(frames.slice(1, -1).join('')).toBe('Stand-in reply to: Tell me a story');
    expect(frames.filter((f) => f === '[END]')).toHaveLength(1);
  });
});
