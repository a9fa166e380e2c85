import type { client } from '../support/http.js';
import { expectError } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { StandInUpstream } from '../support/stand-in-upstream.js';
import { usageRecords, waitFor, type TestApp } from '../support/test-app.js';
import { LLAMALITH, SEED_CONFIG } from '../support/seed-requests.js';
import { createUser } from '../support/users.js';

const SEED = LLAMALITH;

type Api = ReturnType<typeof client>;

/** The README's curl loop: submit, poll until done or error, read the result. */
async function submitAndPoll(api: Api, body: object): Promise<any> {
  const submitted = await api.post('/chat/api/submit', body);
  expect(submitted.status).toBe(200);
  expect(Object.keys(submitted.body)).toEqual(['job_id']);
  let job: any;
  await waitFor(async () => {
    job = (await api.get(`/chat/api/jobs/${submitted.body.job_id}`)).body;
    return job.status === 'done' || job.status === 'error';
  });
  return job;
}

describe('Llamalith compatibility (seed 003)', () => {
  const stack = useStandInApp({ JOBS_CONCURRENCY: '1' }, SEED_CONFIG);
  let upstream: StandInUpstream;
  let t: TestApp;
  beforeAll(() => ({ upstream, t } = stack));

  it('runs its curl loop: a job on the queue, polled until done, its result the answer, stored and metered under the session_id key', async () => {
    const { api, id } = await createUser(t.url, t.adminKey);
    const job = await submitAndPoll(api, SEED.curl);
    expect(job).toEqual({
      id: expect.any(String),
      conversation_id: 'n8n-demo-1',
      user_input: SEED.curl.user_input,
      model: 'mistral',
      system_prompt: SEED.curl.system_prompt,
      status: 'done',
      result: `Stand-in reply to: ${SEED.curl.user_input}`,
      error: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      processed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(upstream.requests[0].body).toMatchObject({
      model: 'gpt-standin',
      messages: [
        { role: 'system', content: SEED.curl.system_prompt },
        { role: 'user', content: SEED.curl.user_input },
      ],
    });
    const conversation = (await api.get('/conversations/n8n-demo-1')).body;
    expect(conversation).toMatchObject({ key: 'n8n-demo-1' });
    const records = (await usageRecords(t)).filter((r) => r.userId === id);
    expect(records).toMatchObject([{ upstreamModel: 'gpt-standin', conversationId: conversation.id, status: 'ok' }]);
    expect(records[0].completionTokens).toBeGreaterThan(0);

    // The status shortcut: the newest reply of the conversation.
    expect((await api.get('/chat/api/status/n8n-demo-1')).body).toEqual({ response: job.result });
    expect((await api.get('/chat/api/status/never-used')).body).toEqual({ response: null });
  });

  it('runs the n8n flow (submit, poll until done, read result) and continues the session with its history, the system prompt sent once', async () => {
    const { api } = await createUser(t.url, t.adminKey);
    const first = await submitAndPoll(api, SEED.n8n);
    expect(first.status).toBe('done');
    const second = await submitAndPoll(api, { ...SEED.n8n, user_input: 'Now a sequel.' });
    expect(second.result).toBe('Stand-in reply to: Now a sequel.');
    expect((upstream.requests[1].body!.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect((await api.get('/chat/api/status/story-7f3a')).body).toEqual({ response: second.result });
  });

  it('lists jobs newest first with its filters and status names; a failed job is error with why', async () => {
    const { api } = await createUser(t.url, t.adminKey);
    const done = await submitAndPoll(api, SEED.submit);
    upstream.script({ kind: 'error', status: 400, message: 'bad things' });
    const failed = await submitAndPoll(api, SEED.submit);
    expect(failed).toMatchObject({ status: 'error', result: null, error: expect.stringMatching(/bad things/), processed_at: expect.any(String) });

    const listed = await api.get(SEED.list);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);
    expect((await api.get('/chat/api/jobs?conversation_id=story-123')).body.map((j: { id: string }) => j.id)).toEqual([failed.id, done.id]);
    expect((await api.get('/chat/api/jobs?status=done')).body.map((j: { id: string }) => j.id)).toEqual([done.id]);
    expect((await api.get('/chat/api/jobs?status=error&limit=1')).body).toMatchObject([{ id: failed.id, status: 'error' }]);
    expect((await api.get('/chat/api/jobs?limit=500')).body).toHaveLength(2);
    expectError(await api.get('/chat/api/jobs?status=finished'), 400);
  });

  it('refuses what would surely fail at submit, naming the field', async () => {
    const { api } = await createUser(t.url, t.adminKey);
    expectError(await api.post('/chat/api/submit', { ...SEED.submit, model: 'no-such-model' }), 404, 'model_not_found');
    expect(expectError(await api.post('/chat/api/submit', { ...SEED.submit, user_input: '' }), 400).param).toBe('user_input');
    expect(expectError(await api.post('/chat/api/submit', { ...SEED.submit, session_id: 'not a key!' }), 400).param).toBe('session_id');
    expectError(await api.get('/chat/api/jobs/42'), 400);
  });

  it("keeps accounts apart: another account's jobs, keys and replies reach nothing; no key is 401", async () => {
    const a = await createUser(t.url, t.adminKey);
    const b = await createUser(t.url, t.adminKey);
    const job = await submitAndPoll(a.api, SEED.submit);
    expectError(await b.api.get(`/chat/api/jobs/${job.id}`), 404);
    expect((await b.api.get('/chat/api/jobs?conversation_id=story-123')).body).toEqual([]);
    expect((await b.api.get('/chat/api/status/story-123')).body).toEqual({ response: null });
    const conversationId = (await a.api.get('/conversations/story-123')).body.id;
    expect((await b.api.get(`/chat/api/status/${conversationId}`)).body).toEqual({ response: null });
    // B's own session with the same key is its own conversation.
    await submitAndPoll(b.api, SEED.submit);
    expect((upstream.requests.at(-1)!.body!.messages as unknown[]).length).toBe(2);

    for (const [method, path] of [
      ['POST', '/chat/api/submit'],
      ['GET', `/chat/api/jobs/${job.id}`],
      ['GET', '/chat/api/jobs'],
      ['GET', '/chat/api/status/story-123'],
    ] as const) {
      expectError(await a.api.call(method, path, { key: null, body: method === 'POST' ? SEED.submit : undefined }), 401);
    }
  });
});
