import { uuidv7 } from '../../src/common/ids.js';
import { client, expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { useStandInApp } from '../support/stand-in-app.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { startTestApp, usageRecords, waitFor, type TestApp } from '../support/test-app.js';
import { openTestDatabase } from '../support/test-database.js';
import { createUser } from '../support/users.js';

const FINISHED = ['succeeded', 'failed', 'cancelled'];

describe('background jobs (POST /jobs)', () => {
  const stack = useStandInApp({ JOBS_CONCURRENCY: '1' });
  let upstream: StandInUpstream;
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  beforeAll(() => ({ upstream, t, admin } = stack));

  const newUser = (keyBody: object = {}) => createUser(t.url, t.adminKey, { key: keyBody });

  async function finished(api: ReturnType<typeof client>, id: string) {
    let job: any;
    await waitFor(async () => {
      job = (await api.get(`/jobs/${id}`)).body;
      return FINISHED.includes(job.status);
    });
    return job;
  }

  it('queues a /chat request, runs it in the background, and keeps its response, conversation and usage', async () => {
    const u = await newUser();
    const submitted = await u.api.post('/jobs', {
      model: 'standin-gpt',
      messages: [{ role: 'user', content: 'Write a haiku about queues' }],
      title: 'Queued',
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ object: 'chat.job', status: 'queued', model: 'standin-gpt', user_id: u.id, result: null, error: null });

    const job = await finished(u.api, submitted.body.id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
    const { conversation_id, session_id, cost, ...completion } = job.result;
    assertOpenAI('CreateChatCompletionResponse', completion);
    expect(completion.choices[0].message.content).toBe('Stand-in reply to: Write a haiku about queues');
    expect(job.conversation_id).toBe(conversation_id);
    expect(typeof cost).toBe('number');
    expect(job.started_at).toBeGreaterThanOrEqual(job.created_at);
    expect(job.finished_at).toBeGreaterThanOrEqual(job.started_at);

    const conversation = await u.api.get(`/conversations/${conversation_id}`);
    expect(conversation.body).toMatchObject({ title: 'Queued', message_count: 2, session_id });
    const records = (await usageRecords(t)).filter((r) => r.userId === u.id);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ endpoint: '/jobs', conversationId: conversation_id, status: 'ok', apiKeyId: u.keyId });

    // A second job continues the conversation from its stored history.
    const next = await u.api.post('/jobs', { conversation_id, messages: [{ role: 'user', content: 'And another' }] });
    expect((await finished(u.api, next.body.id)).status).toBe('succeeded');
    const sent = upstream.requests.at(-1)!.body!.messages as Array<{ role: string; content: string }>;
    expect(sent.map((m) => m.content)).toEqual(['Write a haiku about queues', 'Stand-in reply to: Write a haiku about queues', 'And another']);

    const list = await u.api.get('/jobs?status=succeeded&limit=1');
    expect(list.body).toMatchObject({ object: 'list', has_more: true, first_id: next.body.id });
    const byConversation = await u.api.get(`/jobs?conversation_id=${conversation_id}`);
    expect(byConversation.body.data.map((j: { id: string }) => j.id).sort()).toEqual([submitted.body.id, next.body.id].sort());
  });

  it('refuses at submission what cannot run, and shows a job only to its owner', async () => {
    const u = await newUser();
    const other = await newUser();
    const msg = { messages: [{ role: 'user', content: 'hi' }] };
    expect(expectError(await u.api.post('/jobs', { ...msg, stream: true }), 400).param).toBe('stream');
    expectError(await u.api.post('/jobs', { ...msg, model: 'no-such-model' }), 404, 'model_not_found');
    expectError(await u.api.post('/jobs', { messages: [] }), 400);
    const theirs = await other.api.post('/chat', msg);
    expectError(await u.api.post('/jobs', { ...msg, conversation_id: theirs.body.conversation_id }), 404);

    const mine = await u.api.post('/jobs', msg);
    await finished(u.api, mine.body.id);
    expectError(await other.api.get(`/jobs/${mine.body.id}`), 404);
    expectError(await other.api.post(`/jobs/${mine.body.id}/cancel`), 404);
    expect((await other.api.get('/jobs')).body.data.map((j: { id: string }) => j.id)).not.toContain(mine.body.id);
    expect((await admin.get(`/jobs/${mine.body.id}`)).status).toBe(200);
  });

  it('cancels a queued job at once and stops a running one, recording its aborted call', async () => {
    const u = await newUser();
    upstream.script({ kind: 'hang' });
    const called = upstream.nextRequest();
    const running = await u.api.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'take your time' }] });
    await called;
    // One worker slot here: the second job waits in the queue.
    const queued = await u.api.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'me next' }] });
    expect((await u.api.get(`/jobs/${queued.body.id}`)).body.status).toBe('queued');

    const cancelledQueued = await u.api.post(`/jobs/${queued.body.id}/cancel`);
    expect(cancelledQueued.status).toBe(200);
    expect(cancelledQueued.body).toMatchObject({ status: 'cancelled', started_at: null });

    await u.api.post(`/jobs/${running.body.id}/cancel`);
    expect(await finished(u.api, running.body.id)).toMatchObject({ status: 'cancelled', result: null });
    await upstream.idle();
    const records = (await usageRecords(t)).filter((r) => r.userId === u.id);
    expect(records.map((r) => [r.endpoint, r.status])).toEqual([['/jobs', 'aborted']]);
    expect(upstream.requests.map((r) => (r.body!.messages as Array<{ content: string }>).at(-1)!.content)).toEqual(['take your time']);

    expectError(await u.api.post(`/jobs/${running.body.id}/cancel`), 409, 'job_finished');
  });

  it('fails a job with what /chat would have answered: upstream errors, a revoked key, a token limit it can never meet', async () => {
    const u = await newUser();
    upstream.script({ kind: 'error', status: 500 });
    const broken = await u.api.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
    expect((await finished(u.api, broken.body.id)).error).toMatchObject({ status: 502, type: expect.any(String), message: expect.any(String) });

    // Hold the only worker slot while the second job's key is revoked.
    upstream.script({ kind: 'hang' });
    const called = upstream.nextRequest();
    const blocker = await admin.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'hold' }] });
    await called;
    const revoked = await u.api.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'x' }] });
    await admin.delete(`/keys/${u.keyId}`);
    await admin.post(`/jobs/${blocker.body.id}/cancel`);
    const job = await finished(admin, revoked.body.id);
    expect(job).toMatchObject({ status: 'failed', error: { status: 401 } });

    const small = await newUser({ limits: { tpm: 5 } });
    const tooBig = await small.api.post('/jobs', {
      model: 'standin-gpt',
      messages: [{ role: 'user', content: 'far more than five tokens of prompt here' }],
    });
    expect((await finished(small.api, tooBig.body.id)).error).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'tokens' });
  });

  it('waits out an upstream 429 a few times, each counted as an attempt, then fails with it', async () => {
    const u = await newUser();
    upstream.setDefault({ kind: 'error', status: 429, headers: { 'retry-after': '0' } });
    try {
      const job = await u.api.post('/jobs', { model: 'standin-gpt', messages: [{ role: 'user', content: 'busy upstream' }] });
      expect(await finished(u.api, job.body.id)).toMatchObject({ status: 'failed', attempts: 3, error: { status: 429 } });
      expect(upstream.requests).toHaveLength(3);
    } finally {
      upstream.setDefault({ kind: 'reply' });
    }
  });

  it('takes back a job whose worker died, and gives up on one lost too often', async () => {
    const u = await newUser();
    const past = new Date(Date.now() - 60_000);
    const orphan = (id: string, attempts: number) =>
      t.prisma.chatJob.create({
        data: {
          id,
          userId: u.id,
          apiKeyId: u.keyId,
          status: 'running',
          attempts,
          leaseUntil: past,
          startedAt: past,
          createdAt: past,
          request: { model: 'standin-gpt', messages: [{ role: 'user', content: 'after a crash' }] },
          model: 'standin-gpt',
        },
      });
    const recovered = await orphan(uuidv7(), 1);
    const lost = await orphan(uuidv7(), 3);
    t.app.get((await import('../../src/modules/jobs/jobs.worker.js')).JobsWorker).poke();

    expect(await finished(u.api, recovered.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await finished(u.api, lost.id)).toMatchObject({ status: 'failed', attempts: 4, error: { code: 'job_lost', status: 503 } });
  });
});

describe('background jobs across a restart', () => {
  it('hands a running job back to the queue at shutdown, and the next start runs it', async () => {
    const upstream = await startStandInUpstream();
    const db = await openTestDatabase();
    const env = { CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }), JOBS_CONCURRENCY: '1', SHUTDOWN_GRACE_MS: '400' };
    try {
      const first = await startTestApp({ db, env });
      upstream.script({ kind: 'hang' });
      const called = upstream.nextRequest();
      const job = await client(first.url, first.adminKey).post('/jobs', {
        model: 'standin-gpt',
        messages: [{ role: 'user', content: 'survive a restart' }],
      });
      await called;
      await first.close();

      const second = await startTestApp({ db, env });
      try {
        const api = client(second.url, second.adminKey);
        let view: any;
        await waitFor(async () => FINISHED.includes((view = (await api.get(`/jobs/${job.body.id}`)).body).status));
        expect(view).toMatchObject({ status: 'succeeded', attempts: 1 });
        expect(view.result.choices[0].message.content).toBe('Stand-in reply to: survive a restart');
      } finally {
        await second.close();
      }
    } finally {
      await db.close();
      await upstream.close();
    }
  });
});
