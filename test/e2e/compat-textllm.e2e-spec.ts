import { documentFixture } from '../support/documents.js';
import { expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import { usageRecords, type TestApp } from '../support/test-app.js';
import { SEED_CONFIG, TEXTLLM } from '../support/seed-requests.js';
import { createUser } from '../support/users.js';

const SEED = TEXTLLM;

describe('TextLLM compatibility (seed 004)', () => {
  const stack = useStandInApp({}, SEED_CONFIG);
  let upstream: StandInUpstream;
  let t: TestApp;
  beforeAll(() => ({ upstream, t } = stack));

  it("answers its README's /chat requests (JSON, system and sampling, an image, multipart with a PDF): stored and metered", async () => {
    const { api, id } = await createUser(t.url, t.adminKey);
    for (const body of [SEED.curl, SEED.text, SEED.image]) {
      const res = await api.post('/chat', body);
      expect(res.status).toBe(200);
      assertOpenAI('CreateChatCompletionResponse', res.body);
      expect(res.body.conversation_id).toEqual(expect.any(String));
    }
    expect(upstream.requests[1].body).toMatchObject({ model: 'gpt-4o-standin', temperature: 1, messages: SEED.text.messages });
    expect(JSON.stringify(upstream.requests[2].body!.messages)).toContain('image_url');

    const form = new FormData();
    form.append('messages', SEED.multipart.messages);
    form.append('files', new Blob([documentFixture('report.pdf')]), SEED.multipart.file);
    const multipart = await api.post('/chat', form);
    expect(multipart.status).toBe(200);
    expect(JSON.stringify(upstream.requests[3].body!.messages)).toContain('Summarize');
    expect(JSON.stringify(upstream.requests[3].body!.messages)).toMatch(/document\.pdf/);

    expect((await api.get('/conversations')).body.data).toHaveLength(4);
    const records = (await usageRecords(t)).filter((r) => r.userId === id);
    expect(records).toHaveLength(4);
    expect(records.every((r) => r.status === 'ok' && r.promptTokens > 0)).toBe(true);
  });

  it('takes conversation ids of its own form as keys on /chat and every /conversations route', async () => {
    const { api } = await createUser(t.url, t.adminKey);
    const created = await api.post('/conversations', { key: 'conv_abc123', title: 'Mine' });
    expect(created.status).toBe(201);
    expect(created.body.key).toBe('conv_abc123');
    expect((await api.post('/chat', { ...SEED.curl, conversation_id: 'conv_abc123' })).body.conversation_id).toBe(created.body.id);
    expect((await api.get('/conversations/conv_abc123')).body).toMatchObject({ id: created.body.id, title: 'Mine' });
    expect((await api.get('/conversations/conv_abc123/messages')).body.data).toHaveLength(2);
    expectError(await api.post('/conversations', { key: 'conv_abc123' }), 409, 'conversation_key_taken');
    expect((await api.delete('/conversations/conv_abc123')).status).toBe(200);
    expectError(await api.get('/conversations/conv_abc123'), 404);
    expect(expectError(await api.post('/chat', { ...SEED.curl, conversation_id: 'bad key!' }), 400).param).toBe('conversation_id');
  });

  it('serves the rest of its routes: files by id, users, sessions, health, config, the API info', async () => {
    const { api, id } = await createUser(t.url, t.adminKey);
    const form = new FormData();
    form.append('file', new Blob([documentFixture('report.pdf')]), 'report.pdf');
    const uploaded = await api.post('/files/upload', form);
    expect(uploaded.status).toBe(201);
    const fileId = uploaded.body.data[0].id;
    expect((await api.get('/files')).body.data.map((f: { id: string }) => f.id)).toEqual([fileId]);
    expect((await api.delete(`/files/${fileId}`)).status).toBe(200);
    expect((await api.get('/files')).body.data).toEqual([]);

    const chat = await api.post('/chat', SEED.curl);
    const session = chat.body.session_id;
    for (const path of ['/', '/health', '/health/live', '/health/ready', `/users/${id}/stats`, `/users/${id}/sessions`, `/sessions/${session}`]) {
      expect([path, (await api.get(path)).status]).toEqual([path, 200]);
    }
    expect((await api.post(`/sessions/${session}/end`)).status).toBe(200);
    const other = await createUser(t.url, t.adminKey);
    expectError(await other.api.get(`/sessions/${session}`), 404);
    expect((await stack.admin.get('/config')).status).toBe(200);
  });
});
