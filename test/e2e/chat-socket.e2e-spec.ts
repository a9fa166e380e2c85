import WebSocket from 'ws';
import { connectChatSocket as connect, contentOf as content, isContent } from '../support/chat-socket-client.js';
import { client, type HttpResult } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import { usageRecords, type TestApp } from '../support/test-app.js';
import { createUser } from '../support/users.js';

/** The HTTP answer to an upgrade the server refused. */
function refusal(url: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/chat/ws`, protocols, { headers });
    socket.once('open', () => reject(new Error('the upgrade was accepted')));
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body: JSON.parse(text), text }),
      );
    });
  });
}

describe('POST /chat over a WebSocket (GET /chat/ws)', () => {
  const stack = useStandInApp();
  let upstream: StandInUpstream;
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  beforeAll(() => ({ upstream, t, admin } = stack));

  async function newKey(body: object = {}) {
    const user = await createUser(t.url, t.adminKey, { key: body });
    return { userId: user.id, key: user.key };
  }

  it('streams a /chat turn as chunk frames and done, stores the conversation and continues it on the same socket', async () => {
    const { userId, key } = await newKey();
    const ws = await connect(t.url, { key });
    ws.send({ type: 'chat', id: 't1', model: 'standin-gpt', messages: [{ role: 'user', content: 'Hello over a socket' }] });
    const first = await ws.nextTurn();
    expect(first.every((f) => f.id === 't1')).toBe(true);
    expect(first.at(-1)).toEqual({ type: 'done', id: 't1' });
    expect(content(first)).toBe('Stand-in reply to: Hello over a socket');
    for (const f of first.filter((f) => f.type === 'chunk' && f.data.choices.length)) assertOpenAI('CreateChatCompletionStreamResponse', f.data);
    const last = first.filter((f) => f.type === 'chunk').at(-1)!.data;
    expect(last).toMatchObject({
      conversation_id: expect.any(String),
      session_id: expect.any(String),
      cost: expect.any(Number),
      usage: { prompt_tokens: expect.any(Number) },
    });

    ws.send({ type: 'chat', id: 't2', model: 'standin-gpt', conversation_id: last.conversation_id, messages: [{ role: 'user', content: 'Again' }] });
    const second = await ws.nextTurn();
    expect(content(second)).toBe('Stand-in reply to: Again');
    const sent = upstream.requests.at(-1)!.body!.messages as Array<{ content: string }>;
    expect(sent.map((m) => m.content)).toEqual(['Hello over a socket', 'Stand-in reply to: Hello over a socket', 'Again']);

    const stored = await client(t.url, key).get(`/conversations/${last.conversation_id}/messages?order=asc`);
    expect(stored.body.data).toHaveLength(4);
    const records = (await usageRecords(t)).filter((r) => r.userId === userId);
    expect(records.map((r) => [r.endpoint, r.status])).toEqual([
      ['/chat/ws', 'ok'],
      ['/chat/ws', 'ok'],
    ]);
    ws.socket.close();
  });

  it('takes the key from the bearer subprotocol (browsers), and refuses a bad or missing key before the upgrade', async () => {
    const { key } = await newKey();
    const ws = await connect(t.url, { protocols: ['colloquy.chat.v1', `bearer.${key}`] });
    expect(ws.socket.protocol).toBe('colloquy.chat.v1');
    ws.send({ type: 'chat', model: 'colloquy/echo', messages: [{ role: 'user', content: 'echo me' }] });
    expect(content(await ws.nextTurn())).toBe('echo me');
    ws.socket.close();

    const missing = await refusal(t.url);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ type: expect.any(String), code: 'missing_api_key' });
    const bad = await refusal(t.url, {}, ['colloquy.chat.v1', 'bearer.cq_not-a-real-key-0123456789abcdefghijklmnop']);
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toBeTruthy();
  });

  it('cancels an answer in flight: the partial answer is stored incomplete, its usage recorded, the socket stays usable', async () => {
    const { userId, key } = await newKey();
    const ws = await connect(t.url, { key });
    upstream.script({ kind: 'reply', text: 'one two three four five six seven eight nine ten', chunkDelayMs: 150 });
    ws.send({ type: 'chat', id: 'long', model: 'standin-gpt', messages: [{ role: 'user', content: 'Count slowly' }] });
    await ws.frame(isContent);
    ws.send({ type: 'cancel' });
    const turn = await ws.nextTurn();
    expect(turn.at(-1)).toEqual({ type: 'done', id: 'long', cancelled: true });
    await upstream.idle();

    const conversations = await client(t.url, key).get('/conversations');
    const messages = await client(t.url, key).get(`/conversations/${conversations.body.data[0].id}/messages?order=asc`);
    expect(messages.body.data.map((m: { role: string; status: string }) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'incomplete'],
    ]);
    // The turn's record is written before its done frame, as its messages are.
    expect((await usageRecords(t)).filter((r) => r.userId === userId).map((r) => r.status)).toEqual(['aborted']);

    ws.send({ type: 'chat', model: 'colloquy/echo', messages: [{ role: 'user', content: 'still here' }] });
    expect(content(await ws.nextTurn())).toBe('still here');
    ws.socket.close();
  });

  it('answers bad messages with error frames and keeps the socket open', async () => {
    const { key } = await newKey({ limits: { rpm: 2 } });
    const ws = await connect(t.url, { key });
    ws.socket.send('not json');
    ws.send({ type: 'hello' });
    ws.send({ type: 'chat', id: 'x', messages: [] });
    await ws.frame((f) => f.id === 'x');
    expect(ws.frames.slice(0, 2).map((f) => [f.type, f.status])).toEqual([
      ['error', 400],
      ['error', 400],
    ]);
    const invalid = await ws.nextTurn();
    expect(invalid.map((f) => f.type)).toEqual(['error', 'error', 'error', 'done']);
    expect(invalid[2]).toMatchObject({ id: 'x', status: 400, error: { param: 'messages' } });

    ws.send({ type: 'chat', model: 'standin-nope', messages: [{ role: 'user', content: 'x' }] });
    expect((await ws.nextTurn())[0]).toMatchObject({ type: 'error', status: 404, error: { code: 'model_not_found' } });
    // rpm 2: the two turns above used the limit.
    ws.send({ type: 'chat', model: 'colloquy/echo', messages: [{ role: 'user', content: 'x' }] });
    expect((await ws.nextTurn())[0]).toMatchObject({ type: 'error', status: 429, error: { code: 'rate_limit_exceeded' } });
    ws.socket.close();
  });

  it('checks the key again on every turn: a key revoked while the socket is open ends it', async () => {
    const user = await admin.post('/users', { name: 'revoked-socket' });
    const created = await admin.post(`/users/${user.body.id}/keys`, {});
    const ws = await connect(t.url, { key: created.body.key });
    ws.send({ type: 'chat', model: 'colloquy/echo', messages: [{ role: 'user', content: 'before' }] });
    expect(content(await ws.nextTurn())).toBe('before');

    await admin.delete(`/keys/${created.body.id}`);
    ws.send({ type: 'chat', model: 'colloquy/echo', messages: [{ role: 'user', content: 'after' }] });
    const refused = await ws.nextTurn();
    expect(refused[0]).toMatchObject({ type: 'error', status: 401 });
    expect(refused.some((f) => f.type === 'chunk')).toBe(false);
    expect(await ws.closed).toBe(1008);
  });
});
