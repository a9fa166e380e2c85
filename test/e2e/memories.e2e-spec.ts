import { expectError } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import type { TestApp } from '../support/test-app.js';
import { createUser } from '../support/users.js';

type Sent = Array<{ role: string; content: string }>;

describe('memories', () => {
  const stack = useStandInApp({ MEMORY_MAX_TOKENS: '60' }, { memory: { max_per_user: 4 } });
  let upstream: StandInUpstream;
  let t: TestApp;
  beforeAll(() => ({ upstream, t } = stack));

  const newUser = async () => (await createUser(t.url, t.adminKey)).api;
  const lastSent = () => upstream.requests.at(-1)!.body!.messages as Sent;

  it('keeps, lists and forgets what a user asks to remember, each user only their own', async () => {
    const api = await newUser();
    const other = await newUser();
    const first = await api.post('/memories', { content: '  I am vegetarian.  ' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ object: 'memory', content: 'I am vegetarian.', source: 'api', conversation_id: null });
    expect(first.body.tokens).toBeGreaterThan(0);
    const second = await api.post('/memories', { content: 'My name is Ada.' });
    expect((await api.get('/memories')).body.data.map((m: { content: string }) => m.content)).toEqual(['My name is Ada.', 'I am vegetarian.']);
    expect((await other.get('/memories')).body.data).toEqual([]);
    expectError(await other.delete(`/memories/${first.body.id}`), 404);

    expect((await api.delete(`/memories/${first.body.id}`)).body).toEqual({ object: 'memory.deleted', id: first.body.id, deleted: 1 });
    expectError(await api.delete(`/memories/${first.body.id}`), 404);
    expect((await api.delete('/memories')).body).toMatchObject({ deleted: 1 });
    expect((await api.get('/memories')).body.data).toEqual([]);
    expect(second.status).toBe(201);
    expectError(await api.post('/memories', { content: '' }), 400);
    expectError(await api.post('/memories', { content: 'x'.repeat(2001) }), 400);
  });

  it('puts the newest memories that fit in the prompt with use_memory, after the persona, without storing them', async () => {
    const api = await newUser();
    await api.post('/memories', { content: 'I live in Lisbon, work as a translator, and write in Portuguese at work but in English at home.' });
    await api.post('/memories', { content: 'I am vegetarian.' });
    await api.post('/memories', { content: 'My name is Ada.' });

    const chat = await api.post('/chat', {
      model: 'standin-gpt',
      profile: 'luminary/socrates',
      use_memory: true,
      messages: [{ role: 'user', content: 'What should I cook?' }],
    });
    expect(chat.status).toBe(200);
    const sent = lastSent();
    expect(sent.map((m) => m.role)).toEqual(['system', 'system', 'user']);
    expect(sent[0].content).toMatch(/Socrates/);
    // MEMORY_MAX_TOKENS=60: the two newest fit, the long oldest one does not.
    expect(sent[1].content).toMatch(/remember/);
    expect(sent[1].content).toContain('- My name is Ada.\n- I am vegetarian.');
    expect(sent[1].content).not.toContain('Lisbon');
    expect(chat.body.usage.prompt_tokens).toBeGreaterThan(0);

    const stored = await api.get(`/conversations/${chat.body.conversation_id}/messages?order=asc`);
    expect(stored.body.data.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);

    await api.post('/chat', {
      model: 'standin-gpt',
      conversation_id: chat.body.conversation_id,
      messages: [{ role: 'user', content: 'And without memory?' }],
    });
    expect(lastSent().some((m) => m.content.includes('Ada'))).toBe(false);
  });

  it('saves an answered turn’s user text with save_memory, never a failed one, and keeps the newest few', async () => {
    const api = await newUser();
    const chat = await api.post('/chat', {
      model: 'standin-gpt',
      save_memory: true,
      messages: [{ role: 'user', content: 'I prefer short answers.' }],
    });
    const memories = (await api.get('/memories')).body.data;
    expect(memories).toEqual([
      expect.objectContaining({ content: 'I prefer short answers.', source: 'chat', conversation_id: chat.body.conversation_id }),
    ]);

    upstream.script({ kind: 'error', status: 500 });
    expect((await api.post('/chat', { model: 'standin-gpt', save_memory: true, messages: [{ role: 'user', content: 'Never saved' }] })).status).toBe(
      502,
    );
    expect((await api.get('/memories')).body.data).toHaveLength(1);

    // max_per_user is 4 here: the oldest are forgotten.
    for (const n of [1, 2, 3, 4]) await api.post('/memories', { content: `fact ${n}` });
    expect((await api.get('/memories')).body.data.map((m: { content: string }) => m.content)).toEqual(['fact 4', 'fact 3', 'fact 2', 'fact 1']);
  });
});
