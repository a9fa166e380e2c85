import WebSocket from 'ws';
import { GUEST_USER_ID } from '../../src/modules/users/users.service.js';
import { smartHostSocketTurn } from '../support/chat-socket-client.js';
import { documentFixture } from '../support/documents.js';
import { client, expectError, postSse } from '../support/http.js';
import { LLAMALITH, LUMA_REQUESTS, LUMINARY_EXAMPLES, SEED_CONFIG, SMART_HOST, TEXTLLM } from '../support/seed-requests.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { usageRecords, waitFor } from '../support/test-app.js';

/**
 * Every seed README's requests with no Authorization header at all, under guest access: the right
 * status and shape, stored and metered, all of it as the guest user.
 */
describe('the seed requests without a key, under guest access', () => {
  // An operator who opens guest access prices what guests may reach: Smart-Host's gpt-3.5-turbo is in the catalog here.
  const s = useStandInApp(
    { GUEST_ACCESS: 'true', GUEST_RPM_PER_IP: '100000', RATE_LIMIT_RPM: '100000', JOBS_CONCURRENCY: '1' },
    {
      ...SEED_CONFIG,
      models: [...SEED_CONFIG.models, { id: 'gpt-3.5-turbo', provider: 'openai', context_window: 16385, pricing: { input: 0.5, output: 1.5 } }],
    },
  );
  const guest = () => client(s.t.url);

  async function everyRecordIsTheGuests(count: number) {
    const records = await usageRecords(s.t);
    expect(records).toHaveLength(count);
    expect(records.every((r) => r.userId === GUEST_USER_ID && r.status === 'ok')).toBe(true);
  }

  it('LuminaryChat (000): its curl examples', async () => {
    for (const example of Object.values(LUMINARY_EXAMPLES)) {
      const res = await guest().call(example.method, example.path, { headers: example.headers, body: example.body });
      expect([example.path, res.status]).toEqual([example.path, 200]);
    }
    await everyRecordIsTheGuests(2);
  });

  it('Luma (001): /chat/completion and /chat/stream', async () => {
    for (const body of Object.values(LUMA_REQUESTS)) expect((await guest().post('/chat/completion', body)).body.object).toBe('chat.completion');
    const { res, frames } = await postSse(s.t.url, null, '/chat/stream', LUMA_REQUESTS.bare);
    expect(res.status).toBe(200);
    expect(frames.at(-1)!.data).toBe('[DONE]');
    await everyRecordIsTheGuests(Object.keys(LUMA_REQUESTS).length + 1);
  });

  it('Smart-Host (002): /chat, its profiles and memory example, /embed, /image, /ws_chat, the memory routes, /tools, /call_tool', async () => {
    for (const body of [SMART_HOST.chat, SMART_HOST.profile, ...SMART_HOST.memory]) {
      const res = await guest().post('/chat', body);
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('chat.completion');
    }
    expect(s.upstream.requests.at(-1)!.body!.messages).toEqual([
      expect.objectContaining({ role: 'system', content: expect.stringContaining('My name is Alice and I love blue.') }),
      { role: 'user', content: "What's my favorite color?" },
    ]);
    expect((await guest().post('/embed', SMART_HOST.embed)).body.object).toBe('list');
    expect((await guest().post('/image', SMART_HOST.image)).body.data).toHaveLength(1);
    const frames = await smartHostSocketTurn(s.t.url, null, SMART_HOST.socket);
    expect(frames.slice(0, -1).join('')).toBe('Stand-in reply to: Tell me a story');
    expect(frames.at(-1)).toBe('[END]');
    expect((await guest().get('/memory/status')).body.user_memory.ids).toEqual(['user-123']);
    expectError(await guest().post('/call_tool', SMART_HOST.callTool), 404);
    expect((await guest().get('/tools')).body.data.map((tool: { name: string }) => tool.name)).toContain('calculator');
    expect((await guest().delete('/memory/conversation/conversation-1')).body).toMatchObject({ deleted: true });
    expect((await guest().delete('/memory/user/user-123')).body).toMatchObject({ object: 'memory.deleted', deleted: 1 });
    await everyRecordIsTheGuests(8);
  });

  it('Llamalith (003): submit, poll until done, the status shortcut, the list', async () => {
    for (const body of [LLAMALITH.submit, LLAMALITH.curl, LLAMALITH.n8n]) {
      const submitted = await guest().post('/chat/api/submit', body);
      expect(submitted.status).toBe(200);
      let job: any;
      await waitFor(async () => (job = (await guest().get(`/chat/api/jobs/${submitted.body.job_id}`)).body).status === 'done');
      expect(job.result).toBe(`Stand-in reply to: ${body.user_input}`);
      expect((await guest().get(`/chat/api/status/${body.session_id}`)).body).toEqual({ response: job.result });
    }
    // Nothing is processing any more; story-123's one job is done.
    const listed = await guest().get(LLAMALITH.list);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);
    expect((await guest().get('/chat/api/jobs?conversation_id=story-123')).body).toMatchObject([{ conversation_id: 'story-123', status: 'done' }]);
    await everyRecordIsTheGuests(3);
  });

  it('TextLLM (004): /chat as JSON, with an image, and multipart with a file', async () => {
    for (const body of [TEXTLLM.curl, TEXTLLM.text, TEXTLLM.image]) expect((await guest().post('/chat', body)).status).toBe(200);
    const form = new FormData();
    form.append('messages', TEXTLLM.multipart.messages);
    form.append('files', new Blob([documentFixture('report.pdf')]), TEXTLLM.multipart.file);
    expect((await guest().post('/chat', form)).status).toBe(200);
    await everyRecordIsTheGuests(4);
  });

  it('keeps guests to priced models, and a key presented (wrong, or an empty bearer. subprotocol) is never the guest', async () => {
    expectError(await guest().post('/chat', { ...SMART_HOST.chat, model: 'gpt-4.5-preview' }), 403, 'model_unpriced');
    expectError(
      await guest().post('/v1/chat/completions', { model: 'openai/gpt-4.5', messages: [{ role: 'user', content: 'hi' }] }),
      403,
      'model_unpriced',
    );
    expect(s.upstream.requests).toHaveLength(0);
    await expect(smartHostSocketTurn(s.t.url, 'cq_wrong-key', SMART_HOST.socket)).rejects.toThrow(/401/);
    const socket = new WebSocket(`${s.t.url.replace('http', 'ws')}/chat/ws`, ['colloquy.chat.v1', 'bearer.']);
    const status = await new Promise<number>((resolve, reject) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => reject(new Error('opened as the guest')));
    });
    expect(status).toBe(401);
    await everyRecordIsTheGuests(0);
  });
});
